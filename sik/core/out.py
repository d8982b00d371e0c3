"""sik's human output, on stderr. A line of text is written as it is (coloured on a colour
terminal, one line however long, so logs and pipes get whole lines), which spares the commands
that print a few lines rich's import: more CPU than a warm `sik generate` needs for all else.
Tables and progress bars go through a rich Console, made the first time one is needed."""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# SGR codes (ECMA-48) of the few styles sik's lines use.
_SGR = {"bold red": "1;31", "red": "31", "green": "32", "yellow": "33", "dim": "2"}


# What a terminal would obey rather than show: C0 controls but tab and newline (ESC starts
# ECMA-48 sequences that retitle windows, move the cursor or answer back), DEL, and the C1
# controls (U+0080-U+009F; U+009B is CSI on its own).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character a terminal would act on spelt as \\xHH: much
    of what sik prints was read from an ISO (labels, .disk/info, menu titles)."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class Out:
    def __init__(self) -> None:
        self._rich: Console | None = None

    @property
    def rich(self) -> Console:
        if self._rich is None:
            from rich.console import Console

            # markup off, so `ubuntu-[test].iso` prints literally.
            self._rich = Console(stderr=True, markup=False, highlight=False)
        return self._rich

    def stdout_print(self, item: object) -> None:
        """A rich table on stdout: a command's product (`sik list`), not a message about it."""
        from rich.console import Console

        Console(markup=False, highlight=False).print(item)

    @property
    def is_terminal(self) -> bool:
        return sys.stderr.isatty()

    def print(self, item: object = "", *, style: str | None = None, soft_wrap: bool = False) -> None:
        """A str is one line; anything else (a rich Table) is rich's to draw."""
        if not isinstance(item, str):
            self.rich.print(item, style=style, soft_wrap=soft_wrap)
            return
        code = _SGR.get(style or "") if self._colour() else None
        item = terminal_safe(item)
        sys.stderr.write(f"\x1b[{code}m{item}\x1b[0m\n" if code else f"{item}\n")
        sys.stderr.flush()

    def _colour(self) -> bool:
        # https://no-color.org: NO_COLOR set to anything but "" turns colour off.
        return self.is_terminal and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
