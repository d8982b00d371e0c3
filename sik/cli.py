"""Thin typer commands over the library: parse options, call one function, print."""

from __future__ import annotations

import functools
import json
import logging
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from sik.errors import SikError

# All human output goes to stderr with markup off, so `ubuntu-[test].iso` prints literally;
# --json output goes to stdout.
console = Console(stderr=True, markup=False, highlight=False)

app = typer.Typer(
    help="Turn one USB drive (or a disk image file) into a library of bootable operating systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from sik.access import open_stick
    from sik.add import copy_iso, plan_copies

    with open_stick(image, stick) as opened:
        opened.check()
        jobs = plan_copies(opened, files)
        columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
            for job in jobs:
                task = bar.add_task(job.source.name, total=job.size)
                copy_iso(job, functools.partial(_advance, bar, task))
                console.print(f"✓ copied {job.source.name}")
        raise typer.Exit(_generate(opened))


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
    from sik.generate import build_menu

    with open_stick(image, stick) as opened:
        menu = build_menu(opened)
    if as_json:
        rows = [_row_json(r) | _customize_json(r, menu.customizations) for r in menu.rows]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    _print_table(menu.rows, menu.customizations)


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
    }


def _customize_json(row: object, found: object) -> dict[str, object]:
    """`sik list`'s customisations field: what the ISO's boot method supports, with a star on
    those the stick holds (sik/customize.py)."""
    from sik.customize import StickCustomizations, applicable
    from sik.plan import PlannedIso

    assert isinstance(row, PlannedIso) and isinstance(found, StickCustomizations)
    d = row.scan.detection
    return {"customizations": list(applicable(d.method, found, row.scan.iso.path.name)) if d else []}


def _print_table(rows: object, found: object) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="ISOs on the stick", title_justify="left")
    for column in ("file", "distribution", "version", "arch", "boot method", "customise", "status"):
        # Fold rather than cut: a truncated file name is useless to someone looking for it.
        table.add_column(column, overflow="fold")
    styles = {"ok": "green", "warning": "yellow", "unsupported": "red"}
    for row in rows:  # type: ignore[attr-defined]
        item = _row_json(row) | _customize_json(row, found)
        status = item["status"] if not item["notes"] else f"{item['status']}: {'; '.join(item['notes'])}"  # type: ignore[arg-type]
        table.add_row(
            Text(str(item["file"])),
            Text(str(item["distribution"] or "—")),
            Text(str(item["version"] or "—")),
            Text(str(item["arch"] or "—")),
            Text(str(item["method"] or "—")),
            Text(", ".join(item["customizations"]) or "—"),  # type: ignore[arg-type]
            Text(str(status), style=styles[str(item["status"])]),
        )
    if not table.rows:
        console.print("No ISO files in /boot/iso.")
        return
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
        update_env(opened.grubenv, next_entry=ids[entry])
    console.print(f"✓ next boot: {ids[entry]}")


@app.command()
def detect(
    iso: Annotated[Path, typer.Argument(help="An ISO file, anywhere.")],
    explain: Annotated[
        bool, typer.Option("--explain", help="Show every detector that matched.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Tell which distribution an ISO is and how sik would boot it."""
    from dataclasses import asdict

    from sik.detect import detect as run_detectors
    from sik.detect import load_detectors
    from sik.iso import open_iso
    from sik.model import Detection

    with open_iso(iso) as view:
        verdict = run_detectors(view, load_detectors())
    if as_json:
        out = asdict(verdict.outcome) | {"matches": [m[0] for m in verdict.matches]}
        typer.echo(json.dumps(out, indent=2, default=str, ensure_ascii=False))
        return
    outcome = verdict.outcome
    if isinstance(outcome, Detection):
        console.print(f"{iso.name}: {outcome.pretty_name} {outcome.version or ''} via {outcome.method}")
    else:
        console.print(f"{iso.name}: unsupported: {outcome.reason}")
    if explain:
        for name, priority, detection in verdict.matches:
            console.print(f"  {name} (priority {priority}): {'; '.join(detection.evidence)}")


# --- customisations: ExtensionImages, persistent $HOME, distribution persistence -------------

extension_app = typer.Typer(help="Build, list and remove ExtensionImages (merged into /usr and /opt).")
home_app = typer.Typer(help="The persistent $HOME shared by every booted system.")
app.add_typer(extension_app, name="extension")
app.add_typer(home_app, name="home")


@extension_app.command("build")
def extension_build(
    directory: Annotated[Path, typer.Argument(help="A tree holding only usr/ and opt/.")],
    name: Annotated[str, typer.Option("--name", help="The extension's name.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write here instead of the stick.", metavar="FILE"),
    ] = None,
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Build an ExtensionImage (a systemd-sysext squashfs image), onto the stick by default."""
    from sik.access import open_stick
    from sik.extension import build_extension, check_name, check_tree, extension_path

    check_name(name)
    check_tree(directory)
    if output is not None:
        build_extension(directory, name, output)
        console.print(f"✓ wrote {output}")
        return
    with open_stick(image, stick) as opened:
        opened.check()
        written = build_extension(directory, name, extension_path(opened, name))
        console.print(f"✓ wrote {opened.on_stick(written)}")
        raise typer.Exit(_generate(opened))


@extension_app.command("list")
def extension_list(
    image: ImageOpt = None,
    stick: StickOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """Show the ExtensionImages on the stick."""
    from sik.access import open_stick
    from sik.extension import list_extensions

    with open_stick(image, stick) as opened:
        opened.check()
        found = list_extensions(opened)
    if as_json:
        typer.echo(json.dumps([{"name": e.name, "size": e.size} for e in found], indent=2))
        return
    if not found:
        console.print("No ExtensionImages in /boot/extensions.")
    for ext in found:
        console.print(f"{ext.name}  {ext.size / 2**20:.1f} MiB")


@extension_app.command("remove")
def extension_remove(
    name: Annotated[str, typer.Argument(help="The extension's name (see `sik extension list`).")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Delete an ExtensionImage from the stick."""
    from sik.access import open_stick
    from sik.extension import remove_extension

    with open_stick(image, stick) as opened:
        opened.check()
        removed = remove_extension(opened, name)
        console.print(f"✓ removed {opened.on_stick(removed)}")
        raise typer.Exit(_generate(opened))


@home_app.command("create")
def home_create(
    size: Annotated[str, typer.Option("--size", help="Size of the home image, e.g. 4G.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Create /home.img: an ext4 image mounted on /home in every booted system."""
    from sik.access import open_stick
    from sik.home import create_home

    with open_stick(image, stick) as opened:
        opened.check()
        created = create_home(opened, _parse_size(size))
        console.print(f"✓ created {opened.on_stick(created)} ({size})")
        raise typer.Exit(_generate(opened))


@app.command()
def persist(
    iso: Annotated[str, typer.Argument(help="An ISO file name in /boot/iso.")],
    size: Annotated[str, typer.Option("--size", help="Size of the persistence store, e.g. 2G.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Create the distribution's own persistence for one ISO, where it has one."""
    from sik.access import open_stick
    from sik.generate import build_menu
    from sik.persistence import create_persistence

    with open_stick(image, stick) as opened:
        menu = build_menu(opened)
        rows = {row.scan.iso.path.name: row for row in menu.rows}
        row = rows.get(Path(iso).name)
        if row is None or row.scan.detection is None:
            known = ", ".join(sorted(n for n, r in rows.items() if r.entry)) or "none"
            raise SikError(f"no bootable ISO named {iso!r} on the stick", hint=f"ISOs are: {known}")
        method = str(row.scan.detection.method)
        uuid = menu.customizations.data_uuid
        created = create_persistence(opened, row.scan.iso.path.name, method, _parse_size(size), uuid)
        console.print(f"✓ created {opened.on_stick(created)} for {row.scan.iso.path.name} ({method})")
        raise typer.Exit(_generate(opened))
