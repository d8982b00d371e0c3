"""`sik secureboot status` and `sik secureboot enroll`: what a stick starts with Secure Boot on,
and the one-time enrolment of the user's key and the distributions' CAs (docs/secure-boot.md)."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sik.core.errors import SecureBootError, StickError
from sik.core.model import FsType, SecureBoot
from sik.core.run import find_tool, run
from sik.core.stick import Stick
from sik.detection.authenticode import common_name, fingerprint
from sik.detection.iso import open_iso
from sik.detection.signatures import iso_shim_certificates
from sik.drive import esp
from sik.drive.bootloader import build_images
from sik.drive.layout import DriveLayout, read_layout
from sik.drive.mount import mounted_data_partition
from sik.drive.sbkeys import UserKey, create_user_key, load_user_key, signed_with
from sik.drive.secureboot import (
    CHAIN_PACKAGES,
    KEYS_DIR,
    SHIM_PATH,
    SIGNED_GRUB_PATH,
    SIK_GRUB_PATH,
    ProgramFacts,
    find_signed_chain,
    install_uefi,
    is_revoked,
    program_facts,
    sbat_level,
)
from sik.menu.listing import ListRow, list_stick


@contextmanager
def opened_target(target: Path) -> Iterator[tuple[DriveLayout, Stick]]:
    """A sik disk (image file or drive) with its data partition mounted."""
    if not target.exists():
        raise StickError(f"{target} does not exist", hint="make a stick with `sik install` first")
    layout = read_layout(target)
    if layout.data_fs is None or layout.data_uuid is None:
        raise StickError(f"the data partition of {target} has no filesystem sik knows")
    with mounted_data_partition(layout) as root:
        stick = Stick(root=root, fs=layout.data_fs, uuid=layout.data_uuid)
        stick.check()
        yield layout, stick


# --- status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StickStatus:
    shim: ProgramFacts
    signed_grub: ProgramFacts
    sik_grub: ProgramFacts
    queued: tuple[str, ...]  # certificates waiting on the ESP for MokManager
    notes: tuple[str, ...]  # what is wrong or missing, each with its fix
    isos: tuple[ListRow, ...]


def status(layout: DriveLayout, stick: Stick) -> StickStatus:
    shim = program_facts(SHIM_PATH, esp.read_file(layout, SHIM_PATH))
    grub = program_facts(SIGNED_GRUB_PATH, esp.read_file(layout, SIGNED_GRUB_PATH))
    sik_grub = program_facts(SIK_GRUB_PATH, esp.read_file(layout, SIK_GRUB_PATH))
    queued = tuple(n for n in esp.list_dir(layout, KEYS_DIR) if n.lower().endswith(".cer"))
    notes = _chain_notes(shim, grub) + _sik_grub_notes(stick.fs, sik_grub)
    if shim.version is not None and not any(stick.shim_trust_dir.glob("*.cer")):
        notes += ("the stick has no record of what its shim trusts (made by an older sik): "
                  "run `sik install --update`",)  # fmt: skip
    return StickStatus(shim, grub, sik_grub, queued, notes, list_stick(stick))


def _chain_notes(shim: ProgramFacts, grub: ProgramFacts) -> tuple[str, ...]:
    if not shim.present or shim.version is None:
        return (
            "this stick has no signed shim: it starts only with Secure Boot off; run "
            "`sik install --update` on a computer with " + CHAIN_PACKAGES,
        )
    chain = find_signed_chain()
    if chain is None:
        return ()
    host_shim = chain.shim.read_bytes()
    level = sbat_level(host_shim)
    host_version = program_facts(SHIM_PATH, host_shim).version
    if is_revoked(shim, level) or is_revoked(grub, level):
        return (
            f"this stick's shim {shim.version} or its GRUB is revoked by the SBAT level PCs apply "
            f"after running shim {host_version}: they refuse to start it; run `sik install --update`",
        )
    if host_version and shim.version != host_version:
        return (f"this stick's shim is {shim.version}, this computer has {host_version}: "
                "`sik install --update` refreshes it",)  # fmt: skip
    return ()


def _sik_grub_notes(fs: FsType | None, sik_grub: ProgramFacts) -> tuple[str, ...]:
    if fs is not FsType.exfat:
        return ()
    if not sik_grub.signers:
        return (
            "the data partition is exFAT, which only sik's own GRUB reads: under Secure Boot it "
            "starts once you run `sik secureboot enroll` (or turn Secure Boot off)",
        )
    return ()


# --- enrol ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    key: UserKey
    key_created: bool
    certificates: tuple[tuple[str, str], ...]  # (file name on the ESP, certificate name)
    mokutil: str  # what happened with mokutil, in words
    missing: tuple[str, ...]  # ISOs whose signer's CA sik could not find


def enroll(layout: DriveLayout, stick: Stick, *, use_mokutil: bool | None) -> Enrolment:
    """Make (once) and use the user's key: sign sik's GRUB with it, put it and the CAs of the
    ISOs on the stick that need one on the ESP for MokManager, and queue them with mokutil
    when this computer is the one to enrol them on."""
    chain = find_signed_chain()
    if chain is None:
        raise SecureBootError(
            "this computer has no signed shim and GRUB to put on the stick",
            hint=f"install {CHAIN_PACKAGES}",
        )
    key = load_user_key()
    created = key is None
    if key is None:
        key = create_user_key()
    assert layout.data_fs is not None and layout.data_uuid is not None
    images = build_images(layout.data_fs, layout.data_uuid, chain.grub.read_bytes())
    install_uefi(layout, images.efi, chain, key)
    signed = esp.read_file(layout, SIK_GRUB_PATH)
    if signed is None or not signed_with(signed, key):
        raise SecureBootError("sik's GRUB on the ESP is not signed with your key after signing it")
    cas, missing = distribution_cas(stick)
    files = {f"sik-{_slug(key.name)}.cer": key.der.read_bytes()}
    for cert in cas:
        files[f"ca-{_slug(common_name(cert.subject))}.cer"] = cert.public_bytes(
            serialization.Encoding.DER
        )
    _replace_keys(layout, files)
    names = tuple((name, _cert_name(data)) for name, data in files.items())
    return Enrolment(key, created, names, _mokutil(list(files.values()), use_mokutil), missing)


def distribution_cas(stick: Stick) -> tuple[list[x509.Certificate], tuple[str, ...]]:
    """The CAs that signed kernels on the stick which its shim does not trust, each taken
    from its own ISO's shim; and the ISOs whose CA was not found there."""
    found: dict[str, x509.Certificate] = {}
    missing: list[str] = []
    for row in list_stick(stick):
        facts = row.secure_boot
        if facts is None or facts.verdict is not SecureBoot.enrol:
            continue
        if facts.authority_sha256 is None:
            missing.append(row.file)
            continue
        with open_iso(stick.iso_dir / row.file) as iso:
            for cert in iso_shim_certificates(iso):
                if fingerprint(cert) == facts.authority_sha256:
                    found[facts.authority_sha256] = cert
    return list(found.values()), tuple(missing)


def _replace_keys(layout: DriveLayout, files: dict[str, bytes]) -> None:
    for stale in esp.list_dir(layout, KEYS_DIR):
        if stale not in files:
            esp.delete_file(layout, KEYS_DIR / stale)
    esp.write_files(layout, {KEYS_DIR / name: data for name, data in files.items()})


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "key"


def _cert_name(der: bytes) -> str:
    return common_name(x509.load_der_x509_certificate(der).subject)


def this_computer_can_enrol() -> bool:
    """mokutil can queue enrolment here: a UEFI computer with EFI variables and mokutil."""
    return Path("/sys/firmware/efi/efivars").is_dir() and shutil.which("mokutil") is not None


def _mokutil(certificates: list[bytes], use: bool | None) -> str:
    if use is False:
        return "not asked (--no-mokutil): enrol with MokManager from the stick"
    if not this_computer_can_enrol():
        if use:
            raise SecureBootError(
                "mokutil cannot queue enrolment here: this computer does not boot with UEFI, "
                "or mokutil is missing",
                hint="install mokutil, or enrol with MokManager from the stick (docs/secure-boot.md)",
            )
        return "this computer does not boot with UEFI (or has no mokutil): enrol with MokManager"
    if use is None and not sys.stdin.isatty():
        return "not asked (no terminal for mokutil's password): enrol with MokManager"
    mokutil = find_tool("mokutil", reason="queue MOK enrolment", hint="install mokutil")
    with _certificate_files(certificates) as paths:
        # mokutil asks for a one-time password, which MokManager asks for again at the next boot.
        run([mokutil, "--import", *paths], interactive=True)
    return "queued with mokutil: MokManager asks to enrol them at this computer's next boot"


@contextmanager
def _certificate_files(certificates: list[bytes]) -> Iterator[list[Path]]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sik-mok-") as tmp:
        paths = []
        for index, der in enumerate(certificates):
            path = Path(tmp, f"{index}.cer")
            path.write_bytes(der)
            paths.append(path)
        yield paths


def target_of_mount(directory: Path) -> Path:
    """The whole disk under a mounted data partition (for --stick DIR)."""
    source = run(["findmnt", "-n", "-o", "SOURCE", "--target", directory], capture=True)
    device = source.stdout.decode().strip()
    if not device.startswith("/dev/"):
        raise StickError(f"{directory} is not on a disk sik can reach", hint="give the DEVICE instead")
    parent = run(["lsblk", "-n", "-o", "PKNAME", device], capture=True).stdout.decode().strip()
    if not parent:
        raise StickError(f"{device} is not a partition of a disk", hint="give the DEVICE instead")
    return Path("/dev") / parent
