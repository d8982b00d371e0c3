"""Thin typer commands over the library: parse options, call one function, print."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from sik.errors import SikError
from sik.out import Out

# All human output goes to stderr; --json output goes to stdout.
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
    typer.Option("--image", help="Disk image file of the stick (default ./sik.img).", metavar="FILE"),
]
StickOpt = Annotated[
    Path | None,
    typer.Option(
        "--stick", help="Mount point of a stick's data partition, e.g. /media/usb.", metavar="DIR"
    ),
]
EXIT_SKIPPED = 3


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Log every command sik runs.")] = False,
) -> None:
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(message)s")


def _parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B)?", text.strip(), re.IGNORECASE)
    if not match:
        raise SikError(f"bad size {text!r}", hint="write it like 8G, 512M or 16GiB")
    number, unit = float(match.group(1)), match.group(2).upper()
    return int(number * 1024 ** " KMGT".index(unit or " "))


@app.command()
def install(
    device: Annotated[Path | None, typer.Argument(help="A drive to erase, e.g. /dev/sdX.")] = None,
    image: ImageOpt = None,
    size: Annotated[str, typer.Option(help="Size of a new image file.")] = "8G",
    fs: Annotated[
        str, typer.Option("--fs", help="Data partition filesystem: ext4, exfat or fat32.")
    ] = "ext4",
    yes: Annotated[bool, typer.Option("--yes", help="Erase DEVICE without asking.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing image file.")] = False,
) -> None:
    """Make a new stick: partitions, filesystems and GRUB for BIOS and UEFI."""
    from sik.model import FsType

    try:
        fs_type = FsType(fs)
    except ValueError:
        raise SikError(f"unknown filesystem {fs!r}", hint="choose ext4, exfat or fat32") from None
    if device is not None and image is not None:
        raise SikError("give either a DEVICE or --image, not both")
    if device is not None:
        if not yes:
            raise SikError(
                f"this would erase everything on {device}",
                hint=f"rerun as `sik install {device} --yes` if that is what you want",
            )
        target, new_size = device, None
    else:
        target = image or Path("sik.img")
        if target.exists() and target.stat().st_size > 0 and not force:
            raise SikError(
                f"{target} already exists", hint="pass --force to overwrite it, or another --image"
            )
        if target.exists():
            target.unlink()
        new_size = _parse_size(size)
    from sik.install import install as do_install

    layout = do_install(target, fs=fs_type, size=new_size, step=lambda s: console.print(f"• {s}"))
    console.print(
        f"✓ {target} is ready (data partition {fs_type}, UUID {layout.data_uuid})", style="green"
    )
    console.print(f"  next: sik add --image {target} FILE.iso")


@app.command()
def add(
    files: Annotated[list[Path], typer.Argument(help="ISO files to copy to /boot/iso.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Copy ISO files onto the stick, then regenerate the menu."""
    from sik.access import open_stick
    from sik.add import copy_iso, plan_copies

    with open_stick(image, stick) as opened:
        opened.check()
        jobs = plan_copies(opened, files)
        from sik.generate import warm_up

        warm_up()
        # Without a terminal there is no bar to draw, and rich.progress is not even imported.
        bar = _progress_bar() if console.is_terminal else contextlib.nullcontext(None)
        with bar as shown:
            for job in jobs:
                advance = None
                if shown is not None:
                    task = shown.add_task(job.source.name, total=job.size)
                    advance = functools.partial(_advance, shown, task)
                copy_iso(job, advance)
                console.print(f"✓ copied {job.source.name}")
        raise typer.Exit(_generate(opened))


def _progress_bar() -> Any:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    return Progress(*columns, console=console.rich, transient=True)


def _advance(bar: Any, task: Any, done: int) -> None:
    bar.advance(task, done)


def _generate(opened: object, **overrides: object) -> int:
    from sik.generate import build_menu, write_menu
    from sik.options import load_options, merge_options
    from sik.stick import Stick

    assert isinstance(opened, Stick)
    opened.check()
    options = merge_options(load_options(opened.options_file), **overrides)  # type: ignore[arg-type]
    menu = build_menu(opened, options)
    changed = write_menu(opened, menu)
    entries = len(menu.plan.entries)
    skipped = [r for r in menu.rows if r.entry is None]
    console.print(
        f"✓ grub.cfg {'written' if changed else 'unchanged'}: {entries} entries", style="green"
    )
    for row in skipped:
        console.print(f"  skipped {row.scan.iso.path.name}: {row.notes[0]}", style="yellow")
    for row in menu.rows:
        if row.entry is not None:
            for note in row.notes:
                console.print(f"  warning: {row.scan.iso.path.name}: {note}", style="yellow")
    return EXIT_SKIPPED if skipped else 0


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
) -> None:
    """Scan /boot/iso, recognise each ISO and write the GRUB menu."""
    from sik.access import open_stick

    args = tuple(kernel_args.split()) if kernel_args is not None else None
    with open_stick(image, stick) as opened:
        raise typer.Exit(_generate(opened, timeout=timeout, kernel_args=args, serial=serial))


@app.command("list")
def list_(
    image: ImageOpt = None,
    stick: StickOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Show each ISO on the stick: what it is, how it boots, or why it does not."""
    from sik.access import open_stick
    from sik.generate import plan_stick

    with open_stick(image, stick) as opened:
        _, rows = plan_stick(opened)
    if as_json:
        typer.echo(json.dumps([_row_json(r) for r in rows], indent=2, ensure_ascii=False))
        return
    _print_table(rows)


def _row_json(row: object) -> dict[str, object]:
    from sik.plan import PlannedIso

    assert isinstance(row, PlannedIso)
    d = row.scan.detection
    return {
        "file": row.scan.iso.path.name,
        "distribution": d.pretty_name if d else None,
        "version": d.version if d else None,
        "arch": d.arch if d else None,
        "method": str(d.method) if d else None,
        "status": row.status,
        "notes": list(row.notes),
        "entry": row.entry.id if row.entry else None,
        "edition": d.edition if d else None,
        "persistence": d.persistence if d else None,
        "title": row.entry.title if row.entry else None,
    }


def _print_table(rows: object) -> None:
    if not rows:
        console.print("No ISO files in /boot/iso.")
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title="ISOs on the stick", title_justify="left")
    for column in ("file", "distribution", "version", "arch", "boot method", "status"):
        # Fold rather than cut: a truncated file name is useless to someone looking for it.
        table.add_column(column, overflow="fold")
    styles = {"ok": "green", "warning": "yellow", "unsupported": "red"}
    for row in rows:  # type: ignore[attr-defined]
        item = _row_json(row)
        status = item["status"] if not item["notes"] else f"{item['status']}: {'; '.join(item['notes'])}"  # type: ignore[arg-type]
        table.add_row(
            Text(str(item["file"])),
            Text(str(item["distribution"] or "—")),
            Text(str(item["version"] or "—")),
            Text(str(item["arch"] or "—")),
            Text(str(item["method"] or "—")),
            Text(str(status), style=styles[str(item["status"])]),
        )
    console.print(table)


@app.command("boot-once")
def boot_once(
    entry: Annotated[str, typer.Argument(help="Entry id (see `sik list --json`) or ISO file name.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Boot ENTRY the next time the stick starts, once, without touching the menu."""
    from sik.access import open_stick
    from sik.generate import build_menu
    from sik.grubenv import update_env

    with open_stick(image, stick) as opened:
        menu = build_menu(opened)
        ids = {e.id: e.id for e in menu.plan.entries} | {e.iso.name: e.id for e in menu.plan.entries}
        if entry not in ids:
            known = ", ".join(sorted(e.id for e in menu.plan.entries)) or "none"
            raise SikError(f"no menu entry {entry!r}", hint=f"entries are: {known}")
        # An entry inside a submenu is named to GRUB by its path, "submenu_id>entry_id".
        chosen = menu.plan.grub_path(ids[entry])
        update_env(opened.grubenv, next_entry=chosen)
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
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
    folders: Annotated[
        list[Path] | None,
        typer.Option("--detector-folder", help="Also load the detector modules in DIR.", metavar="DIR"),
    ] = None,
    disabled: Annotated[
        list[str] | None,
        typer.Option("--disable-detector", help="Leave the detector NAME out.", metavar="NAME"),
    ] = None,
) -> None:
    """Tell which distribution an ISO is and how sik would boot it."""
    from sik.detect import detect as run_detectors
    from sik.detect import load_detectors
    from sik.explain import explain_json, explain_lines, planned, summary
    from sik.iso import open_iso

    detectors = load_detectors(folders or (), disabled or ())
    with open_iso(iso) as view:
        verdict = run_detectors(view, detectors)
        row = planned(iso, view.volume_id, verdict)
    if as_json:
        typer.echo(
            json.dumps(explain_json(iso, verdict, row), indent=2, default=str, ensure_ascii=False)
        )
        return
    console.print(summary(iso.name, row), soft_wrap=True)
    if explain:
        for line in explain_lines(verdict, row):
            console.print(line, soft_wrap=True)  # one question per line, however long
