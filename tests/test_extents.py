"""Where an ISO file's bytes lie on a real data partition (sik/core/extents.py, fatfs.py):
ext4 through FIEMAP, exFAT and FAT32 through their own allocation data read from the device.
Each partition is made by sik's own drive code and mounted the way sik mounts it (the kernel's
ext4, exfat-fuse, fusefat); the free space is fragmented on purpose before the copy, and the
runs are then proved the hard way: every byte of the file, read from the raw image through
them, equals the file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sik.core.extents import LayoutError, file_extents, identity, read_through
from sik.core.fatfs import FsLayoutError, file_runs
from sik.core.model import FsType
from sik.drive.layout import DriveLayout, create_image, format_partitions, partition
from sik.drive.mount import mounted_data_partition
from sik.menu.mediumfacts import data_device
from tests.isobuilder import build_iso

pytestmark = pytest.mark.root

MIB = 2**20
FILL = 1 * MIB


@contextmanager
def _partition(tmp_path: Path, fs: FsType) -> Iterator[tuple[DriveLayout, Path]]:
    image = tmp_path / "stick.img"
    create_image(image, 200 * MIB)
    layout = format_partitions(partition(image), fs)
    with mounted_data_partition(layout) as root:
        yield layout, root


def _fragment(root: Path) -> None:
    """Fill the partition with 1 MiB files, then free every other one: no free run left is
    longer than 1 MiB, so a bigger file must be split."""
    (root / "fill").mkdir()
    names = []
    for index in range(400):
        path = root / "fill" / f"f{index:03d}"
        try:
            path.write_bytes(os.urandom(FILL))
        except OSError:
            path.unlink(missing_ok=True)
            break
        names.append(path)
    assert len(names) > 20, "the partition did not fill up"
    for path in names[::2]:
        path.unlink()
    os.sync()


def _iso(tmp_path: Path, size: int) -> Path:
    """A real ISO 9660 image of about ``size`` bytes, its payload pseudo-random."""
    payload = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(size // 32))
    return build_iso(tmp_path / "source.iso", {"payload.bin": payload}, volume_id="EXTENTS_TEST")


def _raw(layout: DriveLayout) -> Path:
    """The data partition as a file of its own (a loop device at its offset, read-only)."""
    return layout.target


@pytest.mark.parametrize("fs", list(FsType))
def test_runs_of_a_fragmented_iso_hold_its_bytes(tmp_path: Path, fs: FsType) -> None:
    source = _iso(tmp_path, 5 * MIB)
    data = source.read_bytes()
    with _partition(tmp_path, fs) as (layout, root):
        _fragment(root)
        (root / "boot/iso").mkdir(parents=True)
        target = root / "boot/iso/Some Name.iso"
        target.write_bytes(data)
        os.sync()
        device = data_device_of(root)
        runs = file_extents(target, fs, device, "/boot/iso/Some Name.iso")
        ident = identity(target)
    assert len(runs) > 1, runs  # fragmented, as arranged
    assert sum(length for _, length in runs) == len(data)  # ISO sizes are whole sectors
    offset = layout.data.start
    shifted = tuple((start + offset, length) for start, length in runs)
    assert read_through(_raw(layout), shifted, 0, len(data)) == data
    assert ident.size == len(data) and ident.volume_id == "EXTENTS_TEST"
    assert ident.head_sha256 == hashlib.sha256(data[:65536]).hexdigest()
    assert ident.tail_sha256 == hashlib.sha256(data[-65536:]).hexdigest()


@pytest.mark.parametrize("fs", [FsType.exfat, FsType.fat32])
def test_a_missing_file_and_a_foreign_filesystem_are_refused(tmp_path: Path, fs: FsType) -> None:
    with _partition(tmp_path, fs) as (_, root):
        device = data_device_of(root)
        fd = os.open(device, os.O_RDONLY)
        try:
            with pytest.raises(FsLayoutError, match="no such file"):
                file_runs(fd, "/boot/iso/absent.iso")
        finally:
            os.close(fd)
    image = tmp_path / "zeros.img"
    image.write_bytes(bytes(MIB))
    fd = os.open(image, os.O_RDONLY)
    try:
        with pytest.raises(FsLayoutError, match="neither exFAT nor FAT32"):
            file_runs(fd, "/x.iso")
    finally:
        os.close(fd)


def test_a_layout_the_device_does_not_show_is_refused(tmp_path: Path) -> None:
    """The proof: runs that do not lead to the file's bytes are never used."""
    with _partition(tmp_path, FsType.fat32) as (_, root):
        (root / "boot/iso").mkdir(parents=True)
        target = root / "boot/iso/a.iso"
        target.write_bytes(_iso(tmp_path, MIB).read_bytes())
        os.sync()
        device = data_device_of(root)
        # The device of another filesystem: its allocation data says nothing of this file.
        other = tmp_path / "other.img"
        other.write_bytes(bytes(4 * MIB))
        with pytest.raises(LayoutError):
            file_extents(target, FsType.fat32, other, "/boot/iso/a.iso")
        assert file_extents(target, FsType.fat32, device, "/boot/iso/a.iso")


def data_device_of(root: Path) -> Path:
    from sik.core.stick import Stick

    device = data_device(Stick(root=root))
    assert device is not None
    return device
