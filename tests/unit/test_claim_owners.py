import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from plexsync.queue.reliable import CLAIM_HORIZON, OWNER, owner_is_gone


def test_a_claim_of_a_live_process_on_this_host_is_kept():
    assert not owner_is_gone(OWNER, time.time() - 10 * CLAIM_HORIZON)
    parent = f"{socket.gethostname()}:{os.getppid()}:abcd1234"
    assert not owner_is_gone(parent, time.time())


def test_a_claim_of_a_dead_process_on_this_host_is_an_orphan():
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = f"{socket.gethostname()}:{int(child.stdout)}:abcd1234"
    assert owner_is_gone(dead, time.time())
    assert owner_is_gone(f"{socket.gethostname()}:{os.getpid()}:oldnonce", time.time())  # re-executed process


def test_a_claim_of_another_host_is_an_orphan_only_past_the_horizon():
    other = "some-other-host:123:abcd1234"
    assert not owner_is_gone(other, time.time() - 60)
    assert owner_is_gone(other, time.time() - CLAIM_HORIZON - 1)


def test_a_claim_of_a_killed_process_not_yet_reaped_is_an_orphan():
    """A worker started by a hook outlives its parent; until PID 1 reaps it, a killed one is a zombie."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = f"{socket.gethostname()}:{child.pid}:abcd1234"
        assert not owner_is_gone(owner, time.time())
        child.kill()
        deadline = time.monotonic() + 10
        stat = Path(f"/proc/{child.pid}/stat")
        while b") Z" not in stat.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert owner_is_gone(owner, time.time())  # not reaped yet: still answers kill(pid, 0)
    finally:
        child.kill()
        child.wait()
