import os
import socket
import subprocess
import sys
import time

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
