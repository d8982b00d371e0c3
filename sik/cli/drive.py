"""Commands of the drive: install (and --update), devices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sik.cli.common import ImageOpt, JsonOpt, app, console, parse_size, printable, step, warn
from sik.core.errors import SikError
from sik.core.model import FsType

if TYPE_CHECKING:
    from sik.drive.devices import Drive
    from sik.drive.guard import Target


@app.command()
def install(
    device: Annotated[Path | None, typer.Argument(help="A drive to erase, e.g. /dev/sdX.")] = None,
    image: ImageOpt = None,
    size: Annotated[str, typer.Option(help="Size of a new image file.")] = "8G",
    fs: Annotated[
        FsType,
        typer.Option(
            "--fs",
            help="Data partition filesystem: exfat (read and written by Windows, macOS and Linux), "
            "ext4, or fat32 (files under 4 GiB). See docs/filesystems.md.",
        ),
    ] = FsType.exfat,
    yes: Annotated[bool, typer.Option("--yes", help="Erase DEVICE without asking.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing image file (--image).")
    ] = False,
    allow_fixed_disk: Annotated[
        bool,
        typer.Option(
            "--allow-fixed-disk",
            help="Allow erasing a disk that is not a removable flash drive: an internal disk, "
            "or a USB hard disk.",
        ),
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
    from sik.drive import install as drive_install

    if device is not None and image is not None:
        raise SikError("give either a DEVICE or --image, not both")
    if device is not None and drive_install.is_image_path(device):
        device, image = None, device
    drive_install.check_host_tools(None if update else fs)  # before anything is erased or created
    if update:
        target = drive_install.update_stick(device, image, unmount=unmount, step=step, warn=warn)
        console.print(
            f"✓ {target}: GRUB and sik's files refreshed; ISOs and your files kept", style="green"
        )
        return
    if device is not None:
        confirmed = _confirm(device, allow_fixed=allow_fixed_disk, unmount=unmount, yes=yes)
        target = device
        layout = drive_install.install_device(
            device, confirmed, fs=fs, allow_fixed=allow_fixed_disk, step=step, warn=warn
        )
    else:
        target = image or Path("sik.img")
        drive_install.prepare_image(target, force=force)
        layout = drive_install.install(target, fs=fs, size=parse_size(size), step=step, warn=warn)
    console.print(f"✓ {target} is ready (data partition {fs}, UUID {layout.data_uuid})", style="green")
    console.print(f"  next: sik add --image {target} FILE.iso")


def _confirm(device: Path, *, allow_fixed: bool, unmount: bool, yes: bool) -> Target:
    """Refuse what must not be erased; show what will be; ask for the name to be typed back.
    Returns what the user confirmed, for install_device to check again."""
    from sik.drive.install import prepare_device

    unmounting = lambda mountpoint: console.print(f"• unmounting {mountpoint}")  # noqa: E731
    target = prepare_device(device, allow_fixed=allow_fixed, unmount=unmount, unmounting=unmounting)
    _describe(target.drive)
    if yes:
        return target
    answer = typer.prompt(f"Everything on it will be lost. Type {device} to erase it")
    if answer.strip() != str(device):
        raise SikError(f"you typed {answer.strip()!r}, not {str(device)!r}: nothing was changed")
    return target


def _describe(drive: Drive) -> None:
    from sik.drive.devices import human_size

    console.print(
        f"{drive.path}: {drive.model or 'unknown model'}, {human_size(drive.size)}, "
        f"{drive.transport or 'unknown transport'}{', removable' if drive.removable else ''}"
        f"{', hard disk' if drive.rotational else ''}"
        f"{f', serial {drive.serial}' if drive.serial else ''}"
    )
    for part in drive.partitions:
        where = ", ".join(part.mountpoints) or "not mounted"
        console.print(
            f"  {part.path}: {human_size(part.size)} {part.fstype or '?'} "
            f"{part.label or part.partlabel or ''} ({where})"
        )
    if not drive.partitions:
        console.print("  no partitions the kernel knows of")


@app.command()
def devices(as_json: JsonOpt = False) -> None:
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
            Text(printable(drive.model or "—")),  # a USB device names itself
            Text(human_size(drive.size)),
            Text(drive.transport or "—"),
            Text("yes" if drive.removable else "no"),
            Text("\n".join(map(printable, parts)) or "—"),
            Text("yes" if drive.is_sik else "no", style="green" if drive.is_sik else ""),
        )
    console.stdout_print(table)
