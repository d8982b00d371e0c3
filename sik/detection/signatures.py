"""Will an ISO's entry start with Secure Boot on? Read at scan time from the ISO itself.

GRUB hands one program of each entry to shim for checking: the kernel (``linux``), memtest86+'s
EFI program (also ``linux``), iPXE's (``chainloader``). Its Authenticode signature names a
signer; the answer is whether that signer chains to a certificate the stick's shim trusts
(trusted), or else to the CA that the ISO's own shim carries (the distribution's CA, which the
user can enrol once as a MOK), or to neither; an unsigned program never starts under Secure
Boot. Only the headers and the certificate table are read, never whole kernels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from cryptography import x509

from sik.core.model import BootMethod, Detection, SecureBoot, SecureBootFacts
from sik.detection.authenticode import (
    chains_to,
    common_name,
    fingerprint,
    load_certificate,
    signatures,
    vendor_certificates,
)
from sik.detection.fat import fat_file
from sik.detection.iso import IsoBytes
from sik.detection.pe import Reader, parse_pe

# GRUB runs the ISO's own configuration for these: nothing for sik to read up front.
_OWN_MENU = frozenset({BootMethod.loopback_cfg, BootMethod.grub_image})
_REMOVABLE_PATH = "EFI/BOOT/BOOTX64.EFI"
# Methods whose program is not a Linux kernel, for the words the menu and `sik list` use.
_EFI_PROGRAMS = frozenset({BootMethod.memtest, BootMethod.ipxe})


def _file_reader(iso: IsoBytes, path: PurePosixPath | str) -> Reader:
    return lambda offset, length: iso.read_range(path, offset, length)


def _image_reader(iso: IsoBytes, base: int) -> Reader:
    return lambda offset, length: iso.read_image(base + offset, length)


def program_of(detection: Detection) -> PurePosixPath | None:
    """The program shim checks under UEFI for this detection, or None when sik cannot say."""
    if detection.method in _OWN_MENU:
        return None
    return detection.efi_kernel or (None if detection.method is BootMethod.ipxe else detection.kernel)


def _program_reader(iso: IsoBytes, program: PurePosixPath) -> Reader | None:
    read = _file_reader(iso, program)
    if program.suffix.lower() == ".img":  # iPXE's EFI program inside a FAT image in the ISO
        return fat_file(read, _REMOVABLE_PATH)
    return read


def iso_shim_certificates(iso: IsoBytes) -> list[x509.Certificate]:
    """The certificates the ISO's own shim trusts (its distribution's CA): from the removable
    media path in the ISO's tree, and from the EFI boot image El Torito names."""
    readers: list[Reader] = []
    path = _case_insensitive(iso, _REMOVABLE_PATH)
    if path is not None:
        readers.append(_file_reader(iso, path))
    offset = iso.efi_boot_image()
    if offset is not None:
        inside = fat_file(_image_reader(iso, offset), _REMOVABLE_PATH)
        if inside is not None:
            readers.append(inside)
    found: list[x509.Certificate] = []
    for read in readers:
        pe = parse_pe(read)
        for cert in vendor_certificates(read, pe) if pe else []:
            if cert not in found:
                found.append(cert)
    return found


def _case_insensitive(iso: IsoBytes, path: str) -> str | None:
    """``path`` as the ISO spells it (Rock Ridge names keep their case: EFI/boot/bootx64.efi)."""
    current = ""
    for part in path.split("/"):
        names = {name.casefold(): name for name in iso.listdir(current or "/")}
        name = names.get(part.casefold())
        if name is None:
            return None
        current = f"{current}/{name}"
    return current


def secure_boot_facts(
    iso: IsoBytes,
    detection: Detection,
    trusted: Sequence[x509.Certificate],
    shim_certificates: Callable[[IsoBytes], list[x509.Certificate]] = iso_shim_certificates,
) -> SecureBootFacts:
    """The verdict for one detected ISO; ``trusted`` are the stick's shim's certificates."""
    program = program_of(detection)
    if program is None:
        return SecureBootFacts()
    kind = "EFI program" if detection.method in _EFI_PROGRAMS else "kernel"
    read = _program_reader(iso, program)
    pe = parse_pe(read) if read is not None else None
    if read is None or pe is None:
        # Not an EFI program (every x86-64 kernel of the last decade is one): nothing to say.
        return SecureBootFacts(SecureBoot.unknown, program, kind=kind)
    found = signatures(read, pe)
    if not found:
        return SecureBootFacts(SecureBoot.unsigned, program, kind=kind)
    signer = common_name(found[0].signer.subject)
    for signature in found:
        anchor = chains_to(signature, list(trusted))
        if anchor is not None:
            name = common_name(signature.signer.subject)
            authority = common_name(anchor.subject)
            return SecureBootFacts(SecureBoot.trusted, program, name, authority, kind=kind)
    own = shim_certificates(iso)
    for signature in found:
        anchor = chains_to(signature, own)
        if anchor is not None:
            name = common_name(signature.signer.subject)
            authority = common_name(anchor.subject)
            sha256 = fingerprint(anchor)
            return SecureBootFacts(SecureBoot.enrol, program, name, authority, sha256, kind)
    issuer = common_name(found[0].signer.issuer)
    return SecureBootFacts(SecureBoot.enrol, program, signer, issuer, kind=kind)


def load_trusted(directory: Path) -> list[x509.Certificate]:
    """The certificates the stick's shim trusts, as `sik install` recorded them on the data
    partition (sik/drive/secureboot.py); [] for a stick without a signed shim."""
    if not directory.is_dir():
        return []
    found = (load_certificate(path.read_bytes()) for path in sorted(directory.glob("*.cer")))
    return [cert for cert in found if cert is not None]
