"""Commands of Secure Boot: status, enroll (docs/secure-boot.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sik.cli.common import ImageOpt, JsonOpt, StickOpt, app, console, printable
from sik.core.codec import encode
from sik.core.errors import SikError

if TYPE_CHECKING:
    from sik.drive.sbflows import Enrolment, StickStatus

secureboot_app = typer.Typer(
    help="Secure Boot: what starts with it on, and enrolling your key and distributions' CAs."
)
app.add_typer(secureboot_app, name="secureboot")

DeviceArg = Annotated[Path | None, typer.Argument(help="The stick's drive, e.g. /dev/sdX.")]


def _target(device: Path | None, image: Path | None, stick: Path | None) -> Path:
    if sum(x is not None for x in (device, image, stick)) > 1:
        raise SikError("give one of DEVICE, --image or --stick")
    if stick is not None:
        from sik.drive.sbflows import target_of_mount

        return target_of_mount(stick)
    return device or image or Path("sik.img")


@secureboot_app.command("status")
def status(
    device: DeviceArg = None, image: ImageOpt = None, stick: StickOpt = None, as_json: JsonOpt = False
) -> None:
    """Show whether the stick and each ISO on it start with Secure Boot on, and why not."""
    from sik.drive.sbflows import opened_target
    from sik.drive.sbflows import status as read_status

    with opened_target(_target(device, image, stick)) as (layout, opened):
        found = read_status(layout, opened)
    if as_json:
        typer.echo(json.dumps(encode(found), indent=2, ensure_ascii=False))
        return
    _print_status(found)


def _print_status(found: StickStatus) -> None:
    for program in (found.shim, found.signed_grub, found.sik_grub):
        if not program.present:
            console.print(f"ESP:{program.path}: missing")
            continue
        signers = ", ".join(program.signers) or "not signed"
        version = f" {program.version}" if program.version else ""
        console.print(f"ESP:{program.path}{version}: {signers}")
    for name in found.queued:
        console.print(f"waiting for MokManager: ESP:/EFI/sik/keys/{name}")
    for note in found.notes:
        console.print(f"  warning: {note}", style="yellow")
    styles = {"trusted": "green", "enrol": "yellow", "unsigned": "red", "unknown": ""}
    for row in found.isos:
        if row.secure_boot is None:
            continue
        line = f"{printable(row.file)}: {row.secure_boot.summary()}"
        console.print(line, style=styles[row.secure_boot.verdict], soft_wrap=True)


@secureboot_app.command("enroll")
def enroll(
    device: DeviceArg = None,
    image: ImageOpt = None,
    stick: StickOpt = None,
    mokutil: Annotated[
        bool | None,
        typer.Option(
            "--mokutil/--no-mokutil",
            help="Queue enrolment on this computer with mokutil (default: when it boots with "
            "UEFI and you are at a terminal).",
        ),
    ] = None,
) -> None:
    """Sign sik's GRUB with your own key and queue that key and the ISOs' CAs for MokManager."""
    from sik.drive.sbflows import enroll as do_enroll
    from sik.drive.sbflows import opened_target

    with opened_target(_target(device, image, stick)) as (layout, opened):
        done = do_enroll(layout, opened, use_mokutil=mokutil)
    _print_enrolment(done)


def _print_enrolment(done: Enrolment) -> None:
    made = "made" if done.key_created else "found"
    console.print(
        f"✓ your key: {done.key.name} ({made}; kept in {done.key.key.parent}, never on the stick)"
    )
    console.print("✓ sik's GRUB on the stick is signed with it", style="green")
    for file, name in done.certificates:
        console.print(f"✓ ESP:/EFI/sik/keys/{file}: {name}")
    for iso in done.missing:
        console.print(
            f"  warning: {printable(iso)}: its kernel's CA is not on the ISO; enrol it by hand",
            style="yellow",
        )
    console.print(f"• mokutil: {done.mokutil}")
    console.print(
        "  next, once on each PC: start it from the stick with Secure Boot on; in the menu choose "
        "'Enrol Secure Boot keys from this stick (MokManager)' (or MokManager starts by itself "
        "after mokutil), then 'Enroll key from disk' > SIK-EFI > EFI > sik > keys > each .cer "
        "file > Continue > Yes, and reboot (docs/secure-boot.md)"
    )
