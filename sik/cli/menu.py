"""Commands of the menu: generate, list, boot-once, detect."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sik.cli.common import (
    FoldersOpt,
    ImageOpt,
    JsonOpt,
    StickOpt,
    app,
    console,
    printable,
    report_generated,
)

if TYPE_CHECKING:
    from sik.menu.listing import ListRow

_LIST_COLUMNS = (
    "file",
    "distribution",
    "version",
    "arch",
    "boot method",
    "medium",
    "menu entry",
    "customise",
    "secure boot",
    "status",
)


@app.command()
def generate(
    image: ImageOpt = None,
    stick: StickOpt = None,
    timeout: Annotated[
        int | None, typer.Option(help="Seconds the menu waits (saved on the stick).")
    ] = None,
    kernel_args: Annotated[
        str | None,
        typer.Option(
            "--kernel-args",
            help='Extra kernel parameters for every entry, e.g. "console=ttyS0" (saved).',
        ),
    ] = None,
    serial: Annotated[
        bool | None,
        typer.Option("--serial/--no-serial", help="Show GRUB's menu on the serial port too (saved)."),
    ] = None,
    folders: FoldersOpt = None,
) -> None:
    """Scan /boot/iso, recognise each ISO and write the GRUB menu."""
    from sik.drive.open_stick import open_stick
    from sik.files.replace import finish_interrupted
    from sik.menu.generate import regenerate
    from sik.menu.options import parse_kernel_args

    args = parse_kernel_args(kernel_args) if kernel_args is not None else None
    with open_stick(image, stick) as opened:
        opened.claim()
        finished = finish_interrupted(opened)
        if finished is not None:
            names = f"{printable(finished.old.name)} with {printable(finished.new.name)}"
            console.print(f"✓ finished replacing {names}")
        result = regenerate(
            opened, timeout=timeout, kernel_args=args, serial=serial, folders=folders or ()
        )
    raise typer.Exit(report_generated(result))


@app.command("list")
def list_(
    image: ImageOpt = None, stick: StickOpt = None, as_json: JsonOpt = False, folders: FoldersOpt = None
) -> None:
    """Show each ISO on the stick: what it is, how it boots, or why it does not."""
    from sik.drive.open_stick import open_stick
    from sik.menu.listing import list_stick

    with open_stick(image, stick) as opened:
        rows = list_stick(opened, folders or ())
    if as_json:
        typer.echo(json.dumps([row.json() for row in rows], indent=2, ensure_ascii=False))
    elif not rows:
        console.print("No ISO files in /boot/iso.")
    elif sys.stdout.isatty():
        _print_table(rows)
    else:
        _print_lines(rows)


def _cells(row: ListRow) -> tuple[str, ...]:
    status = row.status if not row.notes else f"{row.status}: {'; '.join(row.notes)}"
    cells = (
        row.file,
        row.distribution or "—",
        row.version or "—",
        row.arch or "—",
        row.method or "—",
        row.shown_medium,
        row.shown_title,
        ", ".join(row.customizations) or "—",
        row.secure_boot.short() if row.secure_boot else "—",
        status,
    )
    return tuple(printable(cell) for cell in cells)  # much of it was read from the ISO


def _print_lines(rows: tuple[ListRow, ...]) -> None:
    """Without a terminal: a header, then one row per line, tab-separated and never wrapped,
    so `sik list | grep NAME` finds the whole row."""
    typer.echo("\t".join(_LIST_COLUMNS))
    for row in rows:
        typer.echo("\t".join(" ".join(cell.split()) for cell in _cells(row)))


def _print_table(rows: tuple[ListRow, ...]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="ISOs on the stick", title_justify="left")
    for column in _LIST_COLUMNS:
        # Fold rather than cut: a truncated file name is useless to someone looking for it.
        table.add_column(column, overflow="fold")
    styles = {"ok": "green", "warning": "yellow", "unsupported": "red"}
    for row in rows:
        *cells, status = _cells(row)
        table.add_row(*(Text(c) for c in cells), Text(status, style=styles[row.status]))
    console.stdout_print(table)


@app.command("boot-once")
def boot_once(
    entry: Annotated[str, typer.Argument(help="Entry id (see `sik list --json`) or ISO file name.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Boot ENTRY the next time the stick starts, once, without touching the menu."""
    from sik.drive.open_stick import open_stick
    from sik.menu.generate import boot_once as choose_once

    with open_stick(image, stick) as opened:
        chosen = choose_once(opened, entry)
    console.print(f"✓ next boot: {chosen}")


@app.command()
def detect(
    iso: Annotated[Path, typer.Argument(help="An ISO file, anywhere.")],
    explain: Annotated[
        bool,
        typer.Option(
            "--explain", help="Show what every detector asked and saw, and why the winner won."
        ),
    ] = False,
    as_json: JsonOpt = False,
    folders: FoldersOpt = None,
    disabled: Annotated[
        list[str] | None,
        typer.Option("--disable-detector", help="Leave the detector NAME out.", metavar="NAME"),
    ] = None,
) -> None:
    """Tell which distribution an ISO is and how sik would boot it."""
    from sik.menu.explain import explain_iso, explain_json, explain_lines, media, summary

    verdict, row = explain_iso(iso, folders or (), disabled or ())
    # Only when asked: looking for modules in the ISO's squashfs takes a few unsquashfs runs.
    on_fs = media(iso, row.scan.detection) if explain or as_json else ()
    if as_json:
        document = explain_json(iso, verdict, row, on_fs)
        typer.echo(json.dumps(document, indent=2, default=str, ensure_ascii=False))
        return
    console.print(summary(iso.name, row), soft_wrap=True)
    if explain:
        for line in explain_lines(verdict, row, on_fs):
            console.print(line, soft_wrap=True)  # one question per line, however long
