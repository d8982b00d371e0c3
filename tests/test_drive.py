"""The disk layout sik writes, checked with other people's tools: pyparted, sfdisk, blkid,
mtools and each filesystem's fsck, on real images built through loop devices."""

from __future__ import annotations

import json
import os
import struct
import time
from dataclasses import dataclass, replace
from pathlib import Path

import parted  # type: ignore[import-untyped]
import pytest

from sik.core.errors import DriveError, StickError
from sik.core.model import Firmware, FsType
from sik.core.run import run
from sik.core.stick import Stick
from sik.drive import bootloader
from sik.drive import layout as drive
from sik.drive.layout import MIB, DriveLayout
from sik.drive.mount import mounted_data_partition, mounted_partition

IMAGE_SIZE = 600 * MIB
LINUX_DATA = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
BASIC_DATA = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
BIOS_BOOT = "21686148-6449-6E6F-744E-656564454649"
EFI_SYSTEM = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"


@dataclass(frozen=True)
class Built:
    image: Path
    layout: DriveLayout
    seconds: float


def build(image: Path, fs: FsType) -> Built:
    start = time.monotonic()
    drive.create_image(image, IMAGE_SIZE)
    layout = drive.format_partitions(drive.partition(image), fs)
    with mounted_data_partition(layout) as root:
        bootloader.install_grub(layout, Stick(root))
    return Built(image, layout, time.monotonic() - start)


@pytest.fixture(scope="module", params=list(FsType), ids=str)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    fs: FsType = request.param
    return build(tmp_path_factory.mktemp(f"disk-{fs}") / "disk.img", fs)


def _read(image: Path, offset: int, size: int) -> bytes:
    with image.open("rb") as disk:
        disk.seek(offset)
        return disk.read(size)


def _blkid(image: Path, span: drive.PartitionSpan) -> dict[str, str]:
    argv = ["blkid", "-p", "-o", "export", "--offset", str(span.start), "--size", str(span.size)]
    out = run([*argv, image], capture=True).stdout.decode()
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


# --- the partition table -----------------------------------------------------------------------


@pytest.mark.root
def test_gpt_has_three_named_flagged_aligned_partitions(built: Built) -> None:
    disk = parted.newDisk(parted.getDevice(os.fspath(built.image)))
    flags = {name: number for number, name in parted.partitionFlag.items()}
    parts = {p.number: p for p in disk.partitions}
    assert disk.type == "gpt"
    assert sorted(parts) == [1, 2, 3]
    assert [parts[n].name for n in (1, 2, 3)] == ["BIOS boot", "SIK-EFI", "SIK-DATA"]
    assert parts[1].getFlag(flags["bios_grub"])
    assert parts[2].getFlag(flags["boot"]) and parts[2].getFlag(flags["esp"])
    assert parts[3].getFlag(flags["msftdata"]) == (built.layout.data_fs is not FsType.ext4)
    for part in parts.values():
        start, end = part.geometry.start * 512, (part.geometry.end + 1) * 512
        assert start % MIB == 0 and end % MIB == 0, part.name
    assert parts[1].geometry.length * 512 == drive.BIOS_BOOT_SIZE
    assert parts[2].geometry.length * 512 == drive.ESP_SIZE
    # The data partition takes the rest, up to the last whole MiB before the backup GPT.
    assert (parts[3].geometry.end + 1) * 512 == IMAGE_SIZE - MIB


@pytest.mark.root
def test_partition_type_guids_suit_the_filesystems(built: Built) -> None:
    table = json.loads(run(["sfdisk", "--json", built.image], capture=True).stdout)
    types = [p["type"] for p in table["partitiontable"]["partitions"]]
    data = LINUX_DATA if built.layout.data_fs is FsType.ext4 else BASIC_DATA
    assert types == [BIOS_BOOT, EFI_SYSTEM, data]


# --- filesystems -------------------------------------------------------------------------------


@pytest.mark.root
def test_filesystems_types_labels_and_uuids(built: Built) -> None:
    layout = built.layout
    assert layout.data_fs is not None
    data = _blkid(built.image, layout.data)
    esp = _blkid(built.image, layout.esp)
    assert (data["TYPE"], data["LABEL"], data["UUID"]) == (
        layout.data_fs.blkid_type(),
        "SIK",
        layout.data_uuid,
    )
    assert (esp["TYPE"], esp["LABEL"], esp["UUID"]) == ("vfat", "SIK-EFI", layout.esp_uuid)
    assert esp["VERSION"] == "FAT32"


@pytest.mark.root
def test_filesystems_are_clean_after_install(built: Built) -> None:
    # Catches a FUSE driver (exfat-fuse, fusefat) that wrote a broken filesystem.
    fsck = {
        FsType.ext4: ["e2fsck", "-f", "-n"],
        FsType.exfat: ["fsck.exfat", "-n"],
        FsType.fat32: ["fsck.fat", "-n"],
    }
    assert built.layout.data_fs is not None
    with drive.attached(built.image, built.layout.data) as device:
        run([*fsck[built.layout.data_fs], device])
    with drive.attached(built.image, built.layout.esp) as device:
        run(["fsck.fat", "-n", device])


@pytest.mark.root
def test_read_layout_round_trips(built: Built) -> None:
    assert drive.read_layout(built.image) == built.layout


# --- GRUB --------------------------------------------------------------------------------------


@pytest.mark.root
def test_esp_holds_grub_for_uefi(built: Built, tmp_path: Path) -> None:
    image = f"{built.image}@@{built.layout.esp.start}"
    env = {"MTOOLS_SKIP_CHECK": "1"}
    listing = run(["mdir", "-b", "-i", image, "::/EFI/BOOT"], capture=True, env=env).stdout
    assert b"::/EFI/BOOT/BOOTX64.EFI" in listing
    copy = tmp_path / "BOOTX64.EFI"
    run(["mcopy", "-i", image, "::/EFI/BOOT/BOOTX64.EFI", copy], env=env)
    assert copy.read_bytes()[:2] == b"MZ"  # a PE image
    # Secure Boot (docs/secure-boot.md): shim, the signed GRUB and MokManager beside it, the
    # stub the signed GRUB reads, and sik's own GRUB.
    assert copy.read_bytes() == Path("/usr/lib/shim/shimx64.efi.signed").read_bytes()
    for name in (b"grubx64.efi", b"mmx64.efi"):
        assert b"::/EFI/BOOT/" + name in listing
    for folder, name in (("/EFI/debian", b"grub.cfg"), ("/EFI/sik", b"grubx64.efi")):
        found = run(["mdir", "-b", "-i", image, f"::{folder}"], capture=True, env=env).stdout
        assert f"::{folder}/".encode() + name in found


@pytest.mark.root
def test_mbr_points_at_core_and_keeps_the_protective_table(built: Built) -> None:
    mbr = _read(built.image, 0, 512)
    boot_img = (bootloader.grub_lib_dir(Firmware.bios) / "boot.img").read_bytes()
    core_lba = built.layout.bios_boot.start // 512
    assert struct.unpack_from("<Q", mbr, 0x5C)[0] == core_lba == 2048
    assert mbr[0x1FE:] == b"\x55\xaa"
    assert mbr[0x64] == 0xFF and mbr[0x66:0x68] == b"\x90\x90"
    assert mbr[:3] == boot_img[:3] and mbr[0x68:0x1B8] == boot_img[0x68:0x1B8]
    # One protective entry (type EE from LBA 1 over the whole disk), three empty ones.
    status, ptype, first_lba, count = struct.unpack_from("<B3xB3xII", mbr, 0x1BE)
    assert (status, ptype, first_lba, count) == (0, 0xEE, 1, IMAGE_SIZE // 512 - 1)
    assert mbr[0x1CE:0x1FE] == bytes(48)


@pytest.mark.root
def test_core_blocklist_covers_the_rest_of_core(built: Built) -> None:
    core_lba = built.layout.bios_boot.start // 512
    diskboot = _read(built.image, built.layout.bios_boot.start, 512)
    start, length, segment = struct.unpack_from("<QHH", diskboot, 500)
    assert (start, segment) == (core_lba + 1, 0x820)
    assert length > 0 and (length + 1) * 512 <= built.layout.bios_boot.size
    assert diskboot[488:500] == bytes(12)  # the terminator
    last = _read(built.image, built.layout.bios_boot.start + length * 512, 512)
    assert last != bytes(512)  # core's last sector was written, not left blank


@pytest.mark.root
def test_modules_on_the_data_partition(built: Built) -> None:
    with mounted_data_partition(built.layout) as root:
        for firmware in Firmware:
            source = bootloader.grub_lib_dir(firmware)
            copied = {p.name for p in (root / "boot/grub" / firmware.grub_target()).iterdir()}
            assert {"normal.mod", "moddep.lst", "command.lst"} <= copied
            assert {p.name for p in source.glob("*.mod")} <= copied
            assert not [name for name in copied if name.startswith(".")]


@pytest.mark.root
def test_reinstall_replaces_modules_in_place(tmp_path: Path) -> None:
    built = build(tmp_path / "disk.img", FsType.ext4)
    with mounted_data_partition(built.layout) as root:
        stale = root / "boot/grub/i386-pc/gone.mod"
        stale.write_bytes(b"old")
        bootloader.install_grub(built.layout, Stick(root))
        assert not stale.exists()
        assert (root / "boot/grub/i386-pc/normal.mod").is_file()
    assert drive.read_layout(built.image) == built.layout


# --- refusals, which need no loop device -------------------------------------------------------


def test_create_image_is_sparse_and_refuses_to_overwrite(tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    drive.create_image(image, IMAGE_SIZE + 123)
    assert image.stat().st_size == IMAGE_SIZE
    assert image.stat().st_blocks == 0
    with pytest.raises(StickError):
        drive.create_image(image, IMAGE_SIZE)
    drive.create_image(image, IMAGE_SIZE, overwrite=True)
    with pytest.raises(DriveError):
        drive.create_image(tmp_path / "tiny.img", 100 * MIB)


def test_read_layout_rejects_a_blank_image(tmp_path: Path) -> None:
    image = tmp_path / "blank.img"
    drive.create_image(image, IMAGE_SIZE)
    with pytest.raises(StickError, match="not a sik disk"):
        drive.read_layout(image)


def test_read_layout_rejects_a_foreign_gpt(tmp_path: Path) -> None:
    image = tmp_path / "foreign.img"
    drive.create_image(image, IMAGE_SIZE)
    device = parted.getDevice(os.fspath(image))
    disk = parted.freshDisk(device, "gpt")
    geometry = parted.Geometry(device, start=2048, length=4096)
    part = parted.Partition(disk=disk, type=parted.PARTITION_NORMAL, geometry=geometry)
    disk.addPartition(part, constraint=parted.Constraint(exactGeom=geometry))
    disk.commit()
    device.removeFromCache()
    with pytest.raises(StickError, match="no partition named 'BIOS boot'"):
        drive.read_layout(image)


def test_core_image_too_big_for_the_bios_boot_partition_is_refused(tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    drive.create_image(image, IMAGE_SIZE)
    small = drive.PartitionSpan(1, MIB, 64 * 1024)
    layout = DriveLayout(
        image, small, drive.PartitionSpan(2, 2 * MIB, MIB), drive.PartitionSpan(3, 3 * MIB, MIB)
    )
    images = bootloader.GrubImages(core_img=bytes(100 * 1024), boot_img=bytes(512), efi=b"")
    with pytest.raises(DriveError, match="core image"):
        bootloader.install_bios(layout, images)
    assert image.stat().st_blocks == 0  # nothing was written


def test_patch_core_sets_one_contiguous_blocklist() -> None:
    core = bytearray(bytes(range(256)) * 2 + b"\x01" * 1000)  # 1512 bytes: 3 sectors, padded
    core[500:512] = struct.pack("<QHH", 2, 2, 0x820)  # what grub-mkimage leaves there
    patched = bootloader.patch_core(bytes(core), core_lba=2048)
    assert len(patched) == 3 * 512
    assert struct.unpack_from("<QHH", patched, 500) == (2049, 2, 0x820)
    assert patched[488:500] == bytes(12)
    assert patched[512:1512] == core[512:]


@pytest.mark.root
def test_mount_cleans_up_after_an_error(built: Built) -> None:
    assert built.layout.data_fs is not None
    seen: list[Path] = []
    fs = built.layout.data_fs
    with pytest.raises(RuntimeError), mounted_partition(built.image, built.layout.data, fs) as root:
        seen.append(root)
        raise RuntimeError("boom")
    assert not seen[0].exists()
    loops = run(["losetup", "--list", "--noheadings", "--output", "BACK-FILE"], capture=True).stdout
    assert os.fspath(built.image).encode() not in loops


@pytest.mark.root
def test_a_block_device_target_takes_the_same_path(tmp_path: Path) -> None:
    # A whole-disk loop device stands in for a USB stick: pyparted, the partition loop devices
    # on top of it and the MBR write all see a block device, not a file.
    image = tmp_path / "stick.img"
    drive.create_image(image, IMAGE_SIZE)
    device = Path(run(["losetup", "--find", "--show", image], capture=True).stdout.decode().strip())
    try:
        layout = drive.format_partitions(drive.partition(device), FsType.ext4)
        with mounted_data_partition(layout) as root:
            bootloader.install_grub(layout, Stick(root))
        assert drive.read_layout(device) == layout
    finally:
        # The kernel keeps partitions libparted registered on a loop device past its detach.
        run(["partx", "--delete", device])
        run(["losetup", "--detach", device])
    assert drive.read_layout(image) == replace(layout, target=image)
    assert struct.unpack_from("<Q", _read(image, 0, 512), 0x5C)[0] == 2048
