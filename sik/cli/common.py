"""What every command module shares: the typer app, the one console, the --image/--stick
options, and the few helpers that turn library results into lines."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sik import __version__
from sik.core.errors import SikError
from sik.core.out import Out, terminal_safe

if TYPE_CHECKING:
    from sik.menu.generate import Generated

# Human output goes to stderr; --json and `sik list` go to stdout.
console = Out()

app = typer.Typer(
    help="Turn one USB drive (or a disk image file) into a library of bootable operating systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: typer's rich help formatter loads markdown-it and pygments, which took
    # longer than everything else `sik --help` does.
    rich_markup_mode=None,
)

ImageOpt = Annotated[
    Path | None,
    typer.Option(
        "--image",
        help="Disk image file of the stick (default ./sik.img), or the stick's drive, /dev/sdX.",
        metavar="FILE",
    ),
]
StickOpt = Annotated[
    Path | None,
    typer.Option(
        "--stick", help="Mount point of a stick's data partition, e.g. /media/usb.", metavar="DIR"
    ),
]
FoldersOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--detector-folder",
        help="Also load the detector modules in DIR (yours or root's, writable by no one else).",
        metavar="DIR",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
# `sik generate` and everything that regenerates the menu: some ISOs got no entry.
EXIT_SKIPPED = 3


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"sik {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Log every command sik runs.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print sik's version and exit.", callback=_show_version, is_eager=True
        ),
    ] = False,
) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(message)s")


def printable(name: str) -> str:
    """Text on one line, safe for a terminal: bytes that are not UTF-8 and control characters
    (line breaks and tabs too) as \\xHH."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return terminal_safe(re.sub(r"[\t\n]", lambda m: f"\\x{ord(m.group()):02x}", text))


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?", text.strip(), re.IGNORECASE)
    if not match:
        raise SikError(f"bad size {text!r}", hint="write it like 8G, 512M or 16GiB")
    number, unit = float(match.group(1)), match.group(2).upper()
    return int(number * 1024 ** " KMGT".index(unit or " "))


def step(text: str) -> None:
    console.print(f"• {text}")


def warn(text: str) -> None:
    console.print(f"  warning: {text}", style="yellow")


@contextmanager
def progress_bars() -> Iterator[Callable[[str, int], Callable[[int], None] | None]]:
    """Yields ``add(description, total)``, which starts one transient bar and returns its
    advance callback; without a terminal there is no bar, and rich.progress is not imported."""
    if not console.is_terminal:
        yield lambda description, total: None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console.rich, transient=True) as bar:

        def add(description: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(description, total=total)
            return lambda done: bar.advance(task, done)

        yield add


def report_generated(result: Generated) -> int:
    """The lines `sik generate` prints after writing the menu; the command's exit code."""
    entries = len(result.menu.plan.entries)
    written = "written" if result.changed else "unchanged"
    noun = "entry" if entries == 1 else "entries"
    console.print(f"✓ grub.cfg {written}: {entries} {noun}", style="green")
    for row in result.skipped:
        console.print(f"  skipped {printable(row.scan.iso.path.name)}: {row.notes[0]}", style="yellow")
    for row, note in result.warnings:
        console.print(f"  warning: {printable(row.scan.iso.path.name)}: {note}", style="yellow")
    return EXIT_SKIPPED if result.skipped else 0
