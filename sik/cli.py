"""Thin typer commands over the library: parse options, call one function, print."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from sik.core.errors import SikError
from sik.core.out import Out

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


def printable(name: str) -> str:
    """A file name on one line: bytes that are not UTF-8 and control characters as \\xHH."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", text)


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
    force: Annotated[
        bool,
        typer.Option("--force", help="Overwrite an existing image file; allow a fixed (non-USB) disk."),
    ] = False,
    unmount: Annotated[
        bool, typer.Option("--unmount", help="Unmount DEVICE's mounted filesystems first.")
    ] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update", help="Refresh GRUB and sik's files on an existing stick; keep ISOs and data."
        ),
    ] = False,
) -> None:
    """Make a new stick: partitions, filesystems and GRUB for BIOS and UEFI."""
    from sik.core.model import FsType

    try:
        fs_type = FsType(fs)
    except ValueError:
        raise SikError(f"unknown filesystem {fs!r}", hint="choose ext4, exfat or fat32") from None
    if device is not None and image is not None:
        raise SikError("give either a DEVICE or --image, not both")
    if device is not None and _is_image_path(device):
        device, image = None, device
    from sik.drive.install import check_host_tools

    check_host_tools()  # before anything is erased or created
    if update:
        _update(device, image, unmount=unmount)
        return
    if device is not None:
        _confirm_device(device, force=force, unmount=unmount, yes=yes)
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
    from sik.drive.install import install as do_install

    layout = do_install(target, fs=fs_type, size=new_size, step=lambda s: console.print(f"• {s}"))
    console.print(
        f"✓ {target} is ready (data partition {fs_type}, UUID {layout.data_uuid})", style="green"
    )
    console.print(f"  next: sik add --image {target} FILE.iso")


def _is_image_path(path: Path) -> bool:
    """A regular file, or a new name outside /dev: an image, not a drive."""
    if path.exists():
        return path.is_file()
    return not path.absolute().is_relative_to("/dev")


def _confirm_device(device: Path, *, force: bool, unmount: bool, yes: bool) -> None:
    """Refuse what must not be erased; show what will be; ask for the name to be typed back."""
    from sik.drive.install import guard_device, unmount_all

    target = guard_device(device, force=force, unmount=unmount)
    if target.mounted:
        for mountpoint in target.mounted:
            console.print(f"• unmounting {mountpoint}")
        target = unmount_all(device, target, force=force)
    _describe(target.drive)
    if yes:
        return
    answer = typer.prompt(f"Everything on it will be lost. Type {device} to erase it")
    if answer.strip() != str(device):
        raise SikError(f"you typed {answer.strip()!r}, not {str(device)!r}: nothing was changed")


def _describe(drive: Any) -> None:
    from sik.drive.devices import human_size

    console.print(
        f"{drive.path}: {drive.model or 'unknown model'}, {human_size(drive.size)}, "
        f"{drive.transport or 'unknown transport'}{', removable' if drive.removable else ''}"
    )
    for part in drive.partitions:
        where = ", ".join(part.mountpoints) or "not mounted"
        console.print(
            f"  {part.path}: {human_size(part.size)} {part.fstype or '?'} "
            f"{part.label or part.partlabel or ''} ({where})"
        )
    if not drive.partitions:
        console.print("  no partitions the kernel knows of")


def _update(device: Path | None, image: Path | None, *, unmount: bool) -> None:
    from sik.drive.install import guard_device, unmount_all
    from sik.drive.install import update as do_update

    target = device or image or Path("sik.img")
    if device is not None:
        checked = guard_device(device, force=True, unmount=unmount, needed=0)
        if checked.mounted:
            unmount_all(device, checked, force=True, needed=0)
    elif not target.exists():
        raise SikError(f"{target} does not exist", hint="make a stick with `sik install` first")
    do_update(target, step=lambda s: console.print(f"• {s}"))
    console.print(f"✓ {target}: GRUB and sik's files refreshed; ISOs and your files kept", style="green")


@app.command()
def add(
    files: Annotated[list[Path], typer.Argument(help="ISO files to copy to /boot/iso.")],
    image: ImageOpt = None,
    stick: StickOpt = None,
) -> None:
    """Copy ISO files onto the stick, then regenerate the menu."""
    from sik.drive.open_stick import open_stick
    from sik.files.add import copy_iso, plan_copies
    from sik.files.manifest import ChunkHasher, FileRecord, record

    with open_stick(image, stick) as opened:
        opened.check()
        jobs = plan_copies(opened, files)
        from sik.menu.generate import warm_up

        warm_up()
        # Without a terminal there is no bar to draw, and rich.progress is not even imported.
        bar = _progress_bar() if console.is_terminal else contextlib.nullcontext(None)
        with bar as shown:
            for job in jobs:
                advance = None
                if shown is not None:
                    task = shown.add_task(job.source.name, total=job.size)
                    advance = functools.partial(_advance, shown, task)
                chunks = ChunkHasher()
                digest = copy_iso(job, advance, chunks.update)
                record(opened, {job.target: FileRecord(job.size, digest, chunks.chunks())})
                console.print(f"✓ copied {job.source.name}")
        raise typer.Exit(_generate(opened))


def _progress_bar() -> Any:
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    return Progress(*columns, console=console.rich, transient=True)


def _advance(bar: Any, task: Any, done: int) -> None:
    bar.advance(task, done)


def _generate(opened: object, **overrides: object) -> int:
    from sik.core.stick import Stick
    from sik.menu.generate import build_menu, write_menu
    from sik.menu.options import load_options, merge_options

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
        console.print(f"  skipped {printable(row.scan.iso.path.name)}: {row.notes[0]}", style="yellow")
    for row in menu.rows:
        if row.entry is not None:
            for note in row.notes:
                console.print(f"  warning: {printable(row.scan.iso.path.name)}: {note}", style="yellow")
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
    from sik.drive.open_stick import open_stick

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
    from sik.customize.initrds import read_customizations
    from sik.drive.open_stick import open_stick
    from sik.menu.generate import plan_stick

    with open_stick(image, stick) as opened:
        found = read_customizations(opened)
        menu_plan, planned = plan_stick(opened, found=found)
    rows = [_row_json(r, menu_plan) | _customize_json(r, found) for r in planned]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    _print_table(rows)


def _row_json(row: object, plan: object) -> dict[str, object]:
    from sik.core.model import Plan
    from sik.menu.plan import PlannedIso

    assert isinstance(row, PlannedIso) and isinstance(plan, Plan)
    d = row.scan.detection
    submenu = plan.submenu_of(row.entry.id) if row.entry else None
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
        # The GRUB submenu the entry sits in (several versions of one distribution), if any.
        "menu": {"id": submenu.id, "title": submenu.title} if submenu else None,
    }


def _customize_json(row: object, found: object) -> dict[str, object]:
    """`sik list`'s customisations field: what the ISO's boot method supports, with a star on
    those the stick holds (sik/customize/hooks.py)."""
    from sik.customize.hooks import StickCustomizations, applicable
    from sik.menu.plan import PlannedIso

    assert isinstance(row, PlannedIso) and isinstance(found, StickCustomizations)
    d = row.scan.detection
    return {"customizations": list(applicable(d.method, found, row.scan.iso.path.name)) if d else []}


def _shown_title(item: dict[str, object]) -> str:
    """The entry's title as the user finds it in the menu: "Submenu › Entry" inside one."""
    menu = item["menu"]
    if isinstance(menu, dict):
        return f"{menu['title']} › {item['title']}"
    return str(item["title"] or "—")


def _print_table(rows: list[dict[str, object]]) -> None:
    if not rows:
        console.print("No ISO files in /boot/iso.")
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title="ISOs on the stick", title_justify="left")
    for column in (
        "file",
        "distribution",
        "version",
        "arch",
        "boot method",
        "menu entry",
        "customise",
        "status",
    ):
        # Fold rather than cut: a truncated file name is useless to someone looking for it.
        table.add_column(column, overflow="fold")
    styles = {"ok": "green", "warning": "yellow", "unsupported": "red"}
    for item in rows:
        status = item["status"] if not item["notes"] else f"{item['status']}: {'; '.join(item['notes'])}"  # type: ignore[arg-type]
        table.add_row(
            Text(printable(str(item["file"]))),
            Text(str(item["distribution"] or "—")),
            Text(str(item["version"] or "—")),
            Text(str(item["arch"] or "—")),
            Text(str(item["method"] or "—")),
            Text(_shown_title(item)),
            Text(", ".join(item["customizations"]) or "—"),  # type: ignore[arg-type]
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
    from sik.drive.open_stick import open_stick
    from sik.menu.generate import build_menu
    from sik.menu.grubenv import update_env

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
    from sik.detection.detect import detect as run_detectors
    from sik.detection.iso import open_iso
    from sik.detection.plugins import load_detectors
    from sik.menu.explain import explain_json, explain_lines, planned, summary

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


@app.command()
def devices(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")] = False,
) -> None:
    """List the drives a stick could be made on: model, size, transport, partitions, sik or not."""
    from rich.table import Table
    from rich.text import Text

    from sik.drive.devices import drive_json, human_size, list_drives

    drives = list_drives()
    if as_json:
        typer.echo(json.dumps([drive_json(d) for d in drives], indent=2, ensure_ascii=False))
        return
    table = Table(title="Drives", title_justify="left")
    for column in ("device", "model", "size", "transport", "removable", "partitions", "sik"):
        table.add_column(column, overflow="fold")
    for drive in drives:
        parts = [
            f"{p.path} {p.fstype or ''} {' '.join(p.mountpoints) or ''}".strip()
            for p in drive.partitions
        ]
        if drive.mountpoints:
            parts.insert(0, f"mounted on {' '.join(drive.mountpoints)}")
        table.add_row(
            Text(drive.path),
            Text(drive.model or "—"),
            Text(human_size(drive.size)),
            Text(drive.transport or "—"),
            Text("yes" if drive.removable else "no"),
            Text("\n".join(parts) or "—"),
            Text("yes" if drive.is_sik else "no", style="green" if drive.is_sik else ""),
        )
    console.print(table)


@app.command()
def verify(
    image: ImageOpt = None,
    stick: StickOpt = None,
    against: Annotated[
        Path | None,
        typer.Option("--against", help="A distribution's SHA256SUMS file.", metavar="FILE"),
    ] = None,
    signature: Annotated[
        Path | None,
        typer.Option("--signature", help="Detached OpenPGP signature of it.", metavar="SIG"),
    ] = None,
    keyring: Annotated[
        Path | None,
        typer.Option("--keyring", help="Keys for --signature (not .kbx).", metavar="K"),
    ] = None,
    record_new: Annotated[
        bool,
        typer.Option("--record", help="Add unrecorded files to the manifest as they are now."),
    ] = False,
) -> None:
    """Check every ISO and ExtensionImage against the manifest (and a distribution's sums)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from sik.drive.open_stick import open_stick
    from sik.files.manifest import load_manifest, record
    from sik.files.verify import (
        Status,
        check_against,
        parse_sums,
        total_bytes,
        verify_signature,
        verify_stick,
    )

    if (signature is None) != (keyring is None) or (signature is not None and against is None):
        raise SikError("--signature and --keyring go together, with --against")
    sums = None
    if against is not None:
        data = against.read_bytes()
        if signature is not None and keyring is not None:
            key = verify_signature(data, signature, keyring)
            console.print(f"✓ {against.name}: good signature by {key}", style="green")
        sums = parse_sums(data.decode(errors="replace"))
    with open_stick(image, stick) as opened:
        opened.check()
        manifest = load_manifest(opened)
        columns = ("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(
            *columns, console=console.rich, transient=True, disable=not console.is_terminal
        ) as bar:
            task = bar.add_task("verifying", total=total_bytes(opened))
            findings, now = verify_stick(opened, manifest, functools.partial(_advance, bar, task))
        if record_new:
            new = {opened.root / f.path: now[f.path] for f in findings if f.status is Status.unrecorded}
            if new:
                record(opened, new)
                findings = tuple(f for f in findings if f.status is not Status.unrecorded)
                console.print(f"✓ recorded {len(new)} file(s) in the manifest")
    if sums is not None:
        findings += check_against(sums, now)
    for finding in findings:
        style = "red" if finding.status.is_problem() else "green"
        detail = f": {finding.detail}" if finding.detail else ""
        console.print(f"{finding.status}: {finding.path}{detail}", style=style)
    problems = [f for f in findings if f.status.is_problem()]
    if problems:
        raise SikError(f"{len(problems)} problem(s) found", hint="re-copy the files named above")
    console.print(f"✓ {len(now)} file(s) intact", style="green")


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
    from sik.customize.extensions import build_extension, check_name, check_tree, extension_path
    from sik.drive.open_stick import open_stick

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
    from sik.customize.extensions import list_extensions
    from sik.drive.open_stick import open_stick

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
    from sik.customize.extensions import remove_extension
    from sik.drive.open_stick import open_stick

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
    from sik.customize.home import create_home
    from sik.drive.open_stick import open_stick

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
    from sik.customize.persistence import create_persistence
    from sik.drive.open_stick import open_stick
    from sik.menu.generate import build_menu

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
