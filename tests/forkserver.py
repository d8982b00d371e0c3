"""Start `sik` commands as fresh processes without paying Python's start-up each time.

Run as ``python -m tests.forkserver``: it imports sik once, then for each line of JSON on
stdin (an argv list) forks a child that runs ``sik ARGV`` exactly as ``python -m sik`` would,
prints the child's pid, and once the child has ended prints its wait status. The power-loss
test kills those children at random points; with start-up taken out, the kills land in sik's
own work rather than in the interpreter's imports.
"""

from __future__ import annotations

import json
import os
import sys


def _child(argv: list[str]) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.argv = ["sik", *argv]
    code = 1
    try:
        from sik.__main__ import main

        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os._exit(code)


def serve() -> None:
    # Imported once, inherited by every child: what `sik add` and `sik generate` load.
    import sik.cli
    import sik.drive.open_stick
    import sik.files.add
    import sik.files.manifest
    import sik.menu.generate

    del sik

    for line in sys.stdin:
        argv = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(argv)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(status, flush=True)


if __name__ == "__main__":
    serve()
