"""An independent check of sik's hand-written BIOS boot (issue 13, item 22): the MBR and core
image sik writes are byte for byte what GRUB's own grub-bios-setup writes for the same images
on the same disk; GRUB's default blocklist is checked before sik patches it; a drive whose
logical sectors are not 512 bytes is refused before anything is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sik.core.errors import DriveError
from sik.core.model import Firmware, FsType
from sik.core.run import run
from sik.drive.bootloader import (
    FIRST_BLOCKLIST,
    SECTOR,
    build_images,
    grub_lib_dir,
    install_bios,
    patch_core,
)
from sik.drive.devices import read_head
from sik.drive.layout import partition, read_layout
from tests.clirun import REFUSED, sik_process
from tests.loopdev import loop_device

MIB = 2**20
UUID = "0123-4567"
pytestmark = pytest.mark.root


def test_sik_writes_what_grub_bios_setup_writes(tmp_path: Path) -> None:
    images = build_images(FsType.ext4, UUID)
    grub_dir = tmp_path / "grub"  # grub-bios-setup reads both images from a directory,
    with (  # which must lie on a disk its device map names: a small ext4 one of our own
        loop_device(tmp_path / "theirs.img", 200 * MIB) as theirs,
        loop_device(tmp_path / "dir.img", 16 * MIB) as dir_disk,
    ):
        layout = partition(theirs)
        ours = tmp_path / "ours.img"
        shutil.copyfile(tmp_path / "theirs.img", ours)  # the same GPT, byte for byte
        install_bios(read_layout(ours), images)
        run(["mkfs.ext4", "-q", "-F", dir_disk])
        grub_dir.mkdir()
        run(["mount", dir_disk, grub_dir])
        try:
            (grub_dir / "core.img").write_bytes(images.core_img)
            (grub_dir / "boot.img").write_bytes(images.boot_img)
            device_map = tmp_path / "device.map"
            device_map.write_text(f"(hd0) {theirs}\n(hd1) {dir_disk}\n")
            setup = grub_lib_dir(Firmware.bios) / "grub-bios-setup"
            # --no-rs-codes: sik appends no Reed-Solomon data (see patch_core).
            run([setup, "--no-rs-codes", "--skip-fs-probe", "-m", device_map, "-d", grub_dir, theirs])
        finally:
            run(["umount", grub_dir])
        span = (layout.bios_boot.start, layout.bios_boot.start + layout.bios_boot.size)
        assert read_head(theirs, SECTOR) == read_head(ours, SECTOR)
        mine, grubs = ours.read_bytes(), read_head(theirs, span[1])
        assert grubs[span[0] : span[1]] == mine[span[0] : span[1]]
        assert any(mine[span[0] : span[1]])


def test_an_unexpected_blocklist_is_refused_not_overwritten() -> None:
    core = bytearray(build_images(FsType.ext4, UUID).core_img)
    patch_core(bytes(core), 2048)  # GRUB's own layout: accepted
    core[FIRST_BLOCKLIST : FIRST_BLOCKLIST + 8] = (7).to_bytes(8, "little")
    with pytest.raises(DriveError, match=r"where sik expects the default blocklist \(2, "):
        patch_core(bytes(core), 2048)


def test_a_drive_with_4096_byte_sectors_is_refused(tmp_path: Path) -> None:
    backing = tmp_path / "4kn.img"
    backing.write_bytes(b"")
    with backing.open("r+b") as f:
        f.truncate(300 * MIB)
    device = Path(
        run(["losetup", "--find", "--show", "--sector-size", "4096", backing], capture=True)
        .stdout.decode()
        .strip()
    )
    try:
        head = read_head(device, MIB)
        result = sik_process("install", device, "--allow-fixed-disk", "--yes", code=REFUSED)
        assert (
            f"{device} has 4096-byte logical sectors; GRUB's BIOS boot code needs 512" in result.stderr
        )
        assert read_head(device, MIB) == head
    finally:
        run(["losetup", "--detach", device])
