"""Fake Stash plugin: reads Stash's stdin document and does what args.mode says."""

import json
import os
import subprocess
import sys
import time

LEVELS = "tdiwe"


def log(letter: str, message: str) -> None:
    print(f"\x01{letter}\x02{message}", file=sys.stderr, flush=True)


def main() -> None:
    document = json.loads(sys.stdin.read())
    args = document["args"]
    mode = args.get("mode", "echo")
    echo = {
        "stdin": document,
        "cwd": os.getcwd(),
        "argv": sys.argv[1:],
        "pythonpath": os.environ.get("PYTHONPATH"),
        "env": {k: v for k, v in os.environ.items() if k.startswith("PLEXSYNC_")},
    }
    if mode == "error":
        print(json.dumps({"error": "the plugin failed on purpose"}))
    elif mode == "crash":
        print("Traceback (most recent call last):\nValueError: crashed", file=sys.stderr)
        sys.exit(3)
    elif mode == "raw":
        print("this is not JSON")
    elif mode == "logs":
        for letter in LEVELS:
            log(letter, f"  message at {letter}  ")
        for value in ("0.25", "0.5", "1"):
            log("p", value)
        print("a line without prefix", file=sys.stderr, flush=True)
        print(json.dumps({"output": "ok"}))
    elif mode == "sleep":
        with open(args["started"], "w") as marker:
            marker.write(str(os.getpid()))
        time.sleep(60)
        print(json.dumps({"output": "woke up"}))
    elif mode in ("hold", "detach"):
        sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
        if mode == "hold":  # inherits stdout and stderr: Stash waits for it
            child = subprocess.Popen(sleeper)
        else:  # what a well-behaved plugin does before returning
            child = subprocess.Popen(
                sleeper,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        print(json.dumps({"output": {"child": child.pid}}), flush=True)
    elif mode == "hook":
        time.sleep(0.3)  # long enough that a caller not waiting would see no marker
        marker = os.environ.get("PLEXSYNC_TEST_MARKER")
        if marker:
            with open(marker, "a") as f:
                f.write(json.dumps(args["hookContext"]) + "\n")
        print(json.dumps({"output": echo}))
    else:
        print(json.dumps({"output": echo}))


main()
