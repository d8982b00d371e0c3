"""The one boundary where errors become a red line and an exit code."""

from __future__ import annotations

import signal
import sys
from types import FrameType

EXIT_INTERRUPTED = 130


class Terminated(BaseException):
    """SIGTERM or SIGHUP (a closed terminal, a shutdown, `kill`): unwound like Ctrl-C, so every
    `finally` runs and no image stays mounted, no loop device attached. Not a
    KeyboardInterrupt, which typer turns into exit 130 before it reaches this boundary."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _unwind(signum: int, frame: FrameType | None) -> None:
    # Once: a second SIGTERM (an impatient supervisor) must not cut the cleanup short.
    for other in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(other, signal.SIG_IGN)
    raise Terminated(signum)


def main() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _unwind)
    from sik.cli import app, console
    from sik.core.errors import SikError

    try:
        code = app(standalone_mode=False)
    except SikError as exc:
        console.print(f"error: {exc.message}", style="bold red")
        if exc.hint:
            console.print(f"hint: {exc.hint}", style="dim")
        sys.exit(1)
    except Terminated as exc:
        console.print(f"interrupted ({signal.Signals(exc.signum).name})", style="red")
        sys.exit(128 + exc.signum)
    except KeyboardInterrupt:
        console.print("interrupted", style="red")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:
        # Usage errors come from typer's click layer (vendored in newer typer), so they are
        # recognised by shape rather than by class.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(EXIT_INTERRUPTED)
        console.print(f"error: unexpected {type(exc).__name__}: {exc}", style="bold red")
        console.print("hint: rerun with --debug for the full traceback", style="dim")
        if "--debug" in sys.argv:
            raise
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
