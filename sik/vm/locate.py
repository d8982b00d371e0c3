"""Where a small file's bytes lie on its partition, from the filesystem's own allocation data,
so a VM's overlay can be given new bytes there without writing the stick.

Three sources: the kernel's FIEMAP ioctl on the mounted file (ext4, and vfat or exFAT where
the kernel drives them); for FUSE mounts, which have no FIEMAP, FAT32's directory and FAT read
by mtools, and exFAT's directory entries read here (the exFAT specification, sections 3, 6
and 7: boot sector, directory entries, FAT chains). Whatever the source, the answer is proven
before use: the partition must hold, at that offset, exactly the bytes the filesystem returns
for the file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import struct
from pathlib import Path
from typing import BinaryIO

from sik.core.errors import SikError
from sik.core.model import FsType
from sik.core.run import find_tool, run

_FS_IOC_FIEMAP = 0xC020660B
_FIEMAP_FLAG_SYNC = 0x1
_HEADER = struct.Struct("=QQIIII")  # fm_start, fm_length, fm_flags, fm_mapped_extents, count, reserved
_EXTENT = struct.Struct("=QQQQQIIII")  # logical, physical, length, 2 reserved, flags, 3 reserved
# Extents whose bytes are not plainly at fe_physical: not yet allocated, packed into the inode
# or beside other data, encoded, or of unknown place.
_UNPLAIN = 0x2 | 0x4 | 0x8 | 0x100 | 0x200 | 0x400


class LocateError(SikError):
    """The file's bytes could not be found on the partition."""


def locate(path: Path, fs: FsType | None, partition: Path, start: int) -> int:
    """The byte offset, in ``partition`` (a disk or image whose data partition begins at byte
    ``start``), of the whole of the small file ``path`` on the mounted data partition."""
    data = path.read_bytes()
    offset = _fiemap(path, len(data))
    if offset is None and fs is FsType.fat32:
        offset = _fat_offset(path, partition, start)
    if offset is None and fs is FsType.exfat:
        offset = _exfat_offset(path, partition, start)
    if offset is None:
        raise LocateError(
            f"cannot tell where {path.name} lies on the stick: its filesystem driver has no FIEMAP",
            hint="mount the stick with the kernel's driver and pass --stick DIR",
        )
    with partition.open("rb") as disk:
        disk.seek(start + offset)
        if disk.read(len(data)) != data:
            raise LocateError(f"the stick does not hold {path.name}'s bytes where its filesystem says")
    return start + offset


def _fiemap(path: Path, size: int) -> int | None:
    """The partition offset of a file stored in one plain extent; None without FIEMAP."""
    request = bytearray(_HEADER.pack(0, size, _FIEMAP_FLAG_SYNC, 0, 1, 0) + bytes(_EXTENT.size))
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, _FS_IOC_FIEMAP, request)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.ENOSYS):
            return None
        raise
    finally:
        os.close(fd)
    mapped = _HEADER.unpack_from(request)[3]
    logical, physical, length, _, _, flags, *_ = _EXTENT.unpack_from(request, _HEADER.size)
    if mapped != 1 or logical != 0 or length < size or flags & _UNPLAIN:
        raise LocateError(f"{path.name} is not stored in one plain extent", hint="run `sik generate`")
    return int(physical)


_CLUSTERS = re.compile(r"<(\d+)")


def _fat_offset(path: Path, partition: Path, start: int) -> int | None:
    """The first cluster of the file, as mtools reads the FAT directory, turned into an
    offset by the boot sector's geometry; the file is smaller than a cluster."""
    root = _mount_root(path)
    inside = "::/" + path.relative_to(root).as_posix()
    tool = find_tool("mshowfat", reason="find a file on a FAT stick", hint="install mtools")
    out = run(
        [tool, "-i", f"{partition}@@{start}", inside], capture=True, env={"MTOOLS_SKIP_CHECK": "1"}
    )
    match = _CLUSTERS.search(out.stdout.decode(errors="replace"))
    if match is None:
        return None
    with partition.open("rb") as disk:
        disk.seek(start)
        boot = disk.read(512)
    sector, per_cluster, reserved, fats = struct.unpack_from("<HBHB", boot, 11)
    fat_sectors = struct.unpack_from("<I", boot, 36)[0]
    data_start = (reserved + fats * fat_sectors) * sector
    return int(data_start + (int(match.group(1)) - 2) * per_cluster * sector)


def _mount_root(path: Path) -> Path:
    for parent in path.parents:
        if os.path.ismount(parent):
            return parent
    raise LocateError(f"{path} is on no mounted filesystem")


def _exfat_offset(path: Path, partition: Path, start: int) -> int | None:
    """Walk exFAT's directories from the root to ``path``; the offset of its first cluster."""
    with partition.open("rb") as disk:
        volume = _ExFat(disk, start)
        cluster, contiguous, length = volume.root, False, 0
        for name in path.relative_to(_mount_root(path)).parts:
            found = volume.find(volume.read(cluster, contiguous, length), name)
            if found is None:
                return None
            cluster, contiguous, length = found
        return volume.cluster_offset(cluster)


class _ExFat:
    def __init__(self, disk: BinaryIO, start: int) -> None:
        disk.seek(start)
        boot = disk.read(512)
        if boot[3:11] != b"EXFAT   ":
            raise LocateError("the data partition holds no exFAT filesystem")
        fat, _, heap, _, root = struct.unpack_from("<5I", boot, 0x50)  # offsets in sectors
        sector = 1 << boot[0x6C]
        self.cluster_size = sector << boot[0x6D]
        self._disk, self._start = disk, start
        self._fat, self._heap, self.root = fat * sector, heap * sector, int(root)

    def cluster_offset(self, cluster: int) -> int:
        return int(self._heap + (cluster - 2) * self.cluster_size)

    def _next(self, cluster: int) -> int:
        self._disk.seek(self._start + self._fat + 4 * cluster)
        (following,) = struct.unpack("<I", self._disk.read(4))
        return int(following)

    def read(self, cluster: int, contiguous: bool, length: int) -> bytes:
        """A directory's bytes: ``length`` of them from consecutive clusters (NoFatChain), or
        its FAT chain to the end (the root directory has no length of its own)."""
        data = bytearray()
        while 2 <= cluster < 0xFFFFFFF7 and (not length or len(data) < length):
            self._disk.seek(self._start + self.cluster_offset(cluster))
            data += self._disk.read(self.cluster_size)
            cluster = cluster + 1 if contiguous else self._next(cluster)
        return bytes(data[:length] if length else data)

    @staticmethod
    def find(directory: bytes, wanted: str) -> tuple[int, bool, int] | None:
        """(first cluster, NoFatChain, data length) of the entry set named ``wanted``."""
        for at in range(0, len(directory), 32):
            if directory[at] == 0x00:
                return None
            if directory[at] != 0x85:  # a File entry opens each set
                continue
            stream = directory[at + 32 : at + 64]
            names = directory[at + 64 : at + 32 * (1 + directory[at + 1])]
            text = b"".join(names[i + 2 : i + 32] for i in range(0, len(names), 32) if names[i] == 0xC1)
            name = text.decode("utf-16-le", "replace")[: stream[3]]
            if stream[:1] == b"\xc0" and name.casefold() == wanted.casefold():
                cluster, length = struct.unpack_from("<IQ", stream, 20)
                return int(cluster), bool(stream[1] & 0x2), int(length)
        return None
