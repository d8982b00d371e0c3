"""GRUB for BIOS and UEFI on a sik disk, written without grub-install.

grub-install and grub-bios-setup need the target's partitions as kernel block devices (and
grub-bios-setup refuses image files), so sik builds the images with grub-mkimage and puts them
in place itself:

- BIOS: boot.img in the MBR loads the first sector of core.img from the BIOS boot partition;
  that sector (diskboot) loads the rest through its blocklist; core.img's embedded config finds
  the data partition by filesystem UUID and loads normal.mod and grub.cfg from /boot/grub.
- UEFI: the same embedded config in sik's own EFI GRUB, which has every module sik's menu uses
  built in (under Secure Boot GRUB loads none from disk). It sits on the ESP behind a signed
  shim and GRUB, or is itself EFI/BOOT/BOOTX64.EFI, the path every UEFI firmware boots from
  removable media, when this computer has no signed boot loaders (sik/drive/secureboot.py).

The byte offsets below are GRUB's, read from its sources: include/grub/i386/pc/boot.h,
include/grub/offsets.h, grub-core/boot/i386/pc/{boot,diskboot}.S and util/setup.c
(``write_rootdev``, ``save_blocklists`` and the embedding branch of ``SETUP``).
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sik import __version__
from sik.core.errors import DriveError, ToolError
from sik.core.model import Firmware, FsType
from sik.core.run import find_tool, run
from sik.core.staged import staged
from sik.core.stick import Stick
from sik.drive.layout import DriveLayout, check_sector_size
from sik.drive.sbkeys import UserKey
from sik.drive.secureboot import (
    UefiSetup,
    find_signed_chain,
    install_uefi,
    record_shim_trust,
    sik_grub_modules,
    sik_sbat,
)

log = logging.getLogger("sik.drive.bootloader")

SECTOR = 512  # GRUB_DISK_SECTOR_SIZE: BIOS GRUB counts in 512-byte sectors on every disk

# boot.img (the MBR), boot.h
BOOT_BPB_START = 0x03  # GRUB_BOOT_MACHINE_BPB_START
BOOT_BPB_END = 0x5A  # GRUB_BOOT_MACHINE_BPB_END
BOOT_KERNEL_SECTOR = 0x5C  # GRUB_BOOT_MACHINE_KERNEL_SECTOR: 64-bit LBA of core.img's 1st sector
BOOT_DRIVE = 0x64  # GRUB_BOOT_MACHINE_BOOT_DRIVE: 0xff = the drive the BIOS booted from
BOOT_DRIVE_CHECK = 0x66  # GRUB_BOOT_MACHINE_DRIVE_CHECK: a 2-byte jmp over the drive check
BOOT_NT_MAGIC = 0x1B8  # GRUB_BOOT_MACHINE_WINDOWS_NT_MAGIC: disk signature, then partitions
BOOT_PART_END = 0x1FE  # GRUB_BOOT_MACHINE_PART_END: the 55 AA signature follows
NOP = 0x90

# diskboot (core.img's first sector): blocklists grow down from its end, 12 bytes each
# (struct grub_pc_bios_boot_blocklist: u64 start, u16 len, u16 segment; little-endian).
BLOCKLIST = struct.Struct("<QHH")
FIRST_BLOCKLIST = SECTOR - BLOCKLIST.size  # diskboot.S: firstlist = _start + 0x200 - LIST_SIZE
# GRUB_BOOT_I386_PC_KERNEL_SEG + (GRUB_DISK_SECTOR_SIZE >> 4): the rest of core.img goes to
# 0x8200, right after diskboot at 0x8000.
CORE_SEGMENT = 0x800 + (SECTOR >> 4)
# What grub-mkimage leaves in that entry (diskboot.S blocklist_default_start, util/mkimage.c
# filling in the length): start at sector 2, the sectors after the first, segment 0x820.
DEFAULT_BLOCKLIST_START = 2
# setup.c caps the embedded core at (0x78000 - GRUB_KERNEL_I386_PC_LINK_ADDR) bytes: above
# 0x78000 lies the disk buffer diskboot reads through.
CORE_MAX_SIZE = 0x78000 - 0x9000

# Modules in the images themselves; everything else loads from /boot/grub/<platform>/ once the
# embedded config has set $prefix. search pulls in search_fs_uuid through moddep.lst.
_CORE_MODULES = {
    Firmware.bios: ("biosdisk", "part_gpt", "part_msdos", "search"),
    Firmware.uefi: ("part_gpt", "part_msdos", "search"),
}
_PACKAGES = {Firmware.bios: "grub-pc-bin", Firmware.uefi: "grub-efi-amd64-bin"}
# Where distributions keep GRUB's platform directories (Debian/Arch, Fedora).
_GRUB_LIB_ROOTS = (Path("/usr/lib/grub"), Path("/usr/lib/grub2"), Path("/usr/share/grub2"))


@dataclass(frozen=True)
class GrubImages:
    """The two boot images for one data partition, built before anything is written."""

    core_img: bytes  # i386-pc core.img, diskboot first
    boot_img: bytes  # i386-pc boot.img, the MBR code
    efi: bytes  # x86_64-efi: sik's own GRUB, with an .sbat section, not signed


def grub_lib_dir(firmware: Firmware) -> Path:
    """GRUB's module directory for ``firmware``, e.g. /usr/lib/grub/i386-pc."""
    for root in _GRUB_LIB_ROOTS:
        candidate = root / firmware.grub_target()
        if (candidate / "moddep.lst").is_file() and (candidate / "kernel.img").is_file():
            return candidate
    raise ToolError(
        f"GRUB's {firmware.grub_target()} modules are not installed",
        hint=f"install {_PACKAGES[firmware]} (or your distribution's GRUB {firmware} package)",
    )


def early_config(data_uuid: str) -> str:
    """The config embedded in both images: find the data partition, then hand over to normal.

    By filesystem UUID rather than by drive number, which differs between machines and between
    BIOS and UEFI.
    """
    return f"search --no-floppy --fs-uuid --set=root {data_uuid}\nset prefix=($root)/boot/grub\n"


def _mkimage(
    firmware: Firmware, fs: FsType, config: Path, output: Path, sbat: Path | None = None
) -> bytes:
    mkimage = find_tool(
        "grub-mkimage",
        "grub2-mkimage",
        reason="build GRUB's boot images",
        hint="install grub-common (grub2-tools on Fedora)",
    )
    lib = grub_lib_dir(firmware)
    if firmware is Firmware.uefi:
        modules = tuple(dict.fromkeys((*sik_grub_modules(lib), fs.grub_module())))
    else:
        modules = (*_CORE_MODULES[firmware], fs.grub_module())
    argv: list[str | os.PathLike[str]] = [mkimage, "--directory", lib]
    argv += ["--format", firmware.grub_target(), "--config", config, "--prefix", "/boot/grub"]
    if sbat is not None:
        argv += ["--sbat", sbat]
    run([*argv, "--output", output, *modules])
    return output.read_bytes()


def build_images(fs: FsType, data_uuid: str, signed_grub: bytes | None = None) -> GrubImages:
    """Run grub-mkimage for both firmwares with the early config for ``data_uuid``; the EFI
    image's SBAT generations come from ``signed_grub`` (sik/drive/secureboot.py: sik_sbat)."""
    with tempfile.TemporaryDirectory(prefix="sik-grub-") as tmp:
        config = Path(tmp, "early.cfg")
        config.write_text(early_config(data_uuid))
        sbat = Path(tmp, "sbat.csv")
        sbat.write_text(sik_sbat(signed_grub, __version__))
        core = _mkimage(Firmware.bios, fs, config, Path(tmp, "core.img"))
        efi = _mkimage(Firmware.uefi, fs, config, Path(tmp, "grubx64.efi"), sbat)
    boot = (grub_lib_dir(Firmware.bios) / "boot.img").read_bytes()
    if len(boot) != SECTOR:
        raise DriveError(
            f"GRUB's boot.img is {len(boot)} bytes, not {SECTOR}", hint="reinstall grub-pc-bin"
        )
    return GrubImages(core_img=core, boot_img=boot, efi=efi)


# --- BIOS: MBR and core image ------------------------------------------------------------------


def patch_core(core: bytes, core_lba: int) -> bytes:
    """core.img padded to whole sectors, its first blocklist pointing at the sectors after the
    first, which boot.img loads itself (setup.c's save_blocklists for one contiguous run).

    Unlike grub-bios-setup's default, no Reed-Solomon recovery data is appended (as with its
    --no-rs-codes): the BIOS boot partition is GRUB's own, so nothing else overwrites the
    core image there, and the redundancy field grub-mkimage wrote (zero) stays as it is.
    """
    sectors = -(-len(core) // SECTOR)
    image = bytearray(core.ljust(sectors * SECTOR, b"\0"))
    found = BLOCKLIST.unpack_from(image, FIRST_BLOCKLIST)
    expected = (DEFAULT_BLOCKLIST_START, sectors - 1, CORE_SEGMENT)
    if found != expected:
        # A GRUB whose diskboot is laid out otherwise: patching these bytes would corrupt it.
        raise DriveError(
            f"GRUB's core image has {found} where sik expects the default blocklist {expected}",
            hint="this GRUB build's diskboot differs from the one sik knows; please report it",
        )
    entry = BLOCKLIST.pack(core_lba + 1, sectors - 1, CORE_SEGMENT)
    image[FIRST_BLOCKLIST:SECTOR] = entry
    # The entry below the first is the terminator (len 0) that ends diskboot's loading loop.
    terminator = FIRST_BLOCKLIST - BLOCKLIST.size
    image[terminator:FIRST_BLOCKLIST] = bytes(BLOCKLIST.size)
    return bytes(image)


def patch_mbr(boot_img: bytes, old_mbr: bytes, core_lba: int) -> bytes:
    """GRUB's boot.img as grub-bios-setup would write it over ``old_mbr`` on a hard disk."""
    mbr = bytearray(boot_img)
    # Keep whatever BPB and the disk signature + partition table (the GPT's protective entry)
    # the sector already has; boot.img's own 55 AA stays at the end.
    mbr[BOOT_BPB_START:BOOT_BPB_END] = old_mbr[BOOT_BPB_START:BOOT_BPB_END]
    mbr[BOOT_NT_MAGIC:BOOT_PART_END] = old_mbr[BOOT_NT_MAGIC:BOOT_PART_END]
    struct.pack_into("<Q", mbr, BOOT_KERNEL_SECTOR, core_lba)
    mbr[BOOT_DRIVE] = 0xFF
    # A hard disk: replace the jmp with two NOPs so the code fixes up a bogus %dl (some BIOSes
    # pass 0x00 when booting from 0x80), as setup.c does unless --allow-floppy.
    mbr[BOOT_DRIVE_CHECK : BOOT_DRIVE_CHECK + 2] = bytes((NOP, NOP))
    return bytes(mbr)


def _check_core_fits(layout: DriveLayout, core: bytes) -> None:
    limit = min(layout.bios_boot.size, CORE_MAX_SIZE)
    if len(core) > limit:
        raise DriveError(
            f"GRUB's core image is {len(core)} bytes; at most {limit} fit the BIOS boot partition",
            hint="this GRUB build embeds too much; report it with `grub-mkimage --version`",
        )


def _read_at(target: Path, offset: int, size: int) -> bytes:
    with target.open("rb") as disk:
        disk.seek(offset)
        return disk.read(size)


def _write_at(target: Path, offset: int, data: bytes) -> None:
    fd = os.open(target, os.O_WRONLY)
    try:
        written = os.pwrite(fd, data, offset)
        if written != len(data):
            raise DriveError(f"short write to {target}: {written} of {len(data)} bytes at {offset}")
        os.fsync(fd)
    finally:
        os.close(fd)


def install_bios(layout: DriveLayout, images: GrubImages) -> None:
    """Write core.img to the BIOS boot partition, then boot.img to the MBR (last, so a failure
    before it leaves the old boot code in charge)."""
    check_sector_size(layout.target, layout.sector_size)
    if layout.bios_boot.start % SECTOR:
        raise DriveError(f"the BIOS boot partition of {layout.target} is not sector-aligned")
    core_lba = layout.bios_boot.start // SECTOR
    core = patch_core(images.core_img, core_lba)
    _check_core_fits(layout, core)
    _write_at(layout.target, layout.bios_boot.start, core)
    mbr = patch_mbr(images.boot_img, _read_at(layout.target, 0, SECTOR), core_lba)
    _write_at(layout.target, 0, mbr)


# --- modules on the data partition -------------------------------------------------------------


def _is_runtime_file(path: Path) -> bool:
    # What grub-install copies: modules, their lists, the efiemu objects and modinfo.sh; not
    # the *.img boot sectors, debug *.module/*.exec or Debian's monolithic signed images.
    return path.is_file() and (
        path.suffix in (".mod", ".lst") or path.name.startswith("efiemu") or path.name == "modinfo.sh"
    )


def _replace_file(source: Path, destination: Path) -> None:
    with staged(destination) as partial:
        shutil.copyfile(source, partial)


def copy_modules(firmware: Firmware, stick: Stick) -> Path:
    """Copy GRUB's modules to the stick's /boot/grub/<platform>/ and drop modules GRUB no longer
    ships, so a re-install never leaves modules of two GRUB versions side by side.

    File by file, each through a temporary name and a rename: never a directory rename, which
    the FUSE FAT driver (fusefat) gets wrong, losing the directory's contents.
    """
    source = grub_lib_dir(firmware)
    destination = stick.grub_modules_dir(firmware)
    destination.mkdir(parents=True, exist_ok=True)
    wanted = {path.name: path for path in sorted(source.iterdir()) if _is_runtime_file(path)}
    for name, path in wanted.items():
        _replace_file(path, destination / name)
    for stale in destination.iterdir():
        if stale.name not in wanted and stale.is_file():
            stale.unlink()
    return destination


def install_grub(layout: DriveLayout, stick: Stick, key: UserKey | None = None) -> UefiSetup:
    """Install GRUB for BIOS and UEFI on a formatted sik disk whose data partition is mounted
    as ``stick``; sik's EFI GRUB is signed with the user's ``key`` when given.

    Both images are built first, so a missing tool changes nothing on the disk; then the
    modules, the ESP's files, core.img and finally the MBR are written.
    """
    if layout.data_fs is None or layout.data_uuid is None:
        raise DriveError(
            f"the data partition of {layout.target} is not formatted",
            hint="format it before installing GRUB",
        )
    chain = find_signed_chain()
    signed_grub = chain.grub.read_bytes() if chain else None
    images = build_images(layout.data_fs, layout.data_uuid, signed_grub)
    for firmware in Firmware:
        copy_modules(firmware, stick)
    setup = install_uefi(layout, images.efi, chain, key)
    record_shim_trust(stick, chain)
    install_bios(layout, images)
    log.debug("GRUB installed on %s for data partition %s", layout.target, layout.data_uuid)
    return setup
