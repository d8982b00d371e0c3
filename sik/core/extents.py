"""Where an ISO file's bytes lie on the stick's data partition, and what it is: the two facts a
virtual CD is built from (sik/menu/medium.py), recorded at `sik generate` and checked again
by sik's initrd before the ISO is shown to anyone (overlays/vcd/vcd.sh).

How the runs are found, per filesystem:
- ext4 (always mounted by the kernel's driver): FIEMAP on the file, synced first
  (FIEMAP_FLAG_SYNC); physical offsets are relative to the partition the filesystem is on.
- exFAT and FAT32: sik/core/fatfs.py reads the filesystem's own allocation data (directory
  entries, NoFatChain flag, FAT chains) from the partition's device, read-only; FUSE drivers
  answer no FIEMAP, and the kernel's exfat/vfat answer it partly or not at all.
A parsed layout is proved before it is used: the first and last 64 KiB of the file, read
through the runs from the device, must equal those read through the filesystem. A layout that
is not on the device yet (a FUSE driver holding metadata back) is refused, not guessed.
"""

from __future__ import annotations

import array
import fcntl
import hashlib
import os
import struct
from pathlib import Path

from sik.core.fatfs import FsLayoutError, file_runs
from sik.core.model import FsType, IsoIdentity

EDGE = 64 * 1024
_SECTOR = 512
_PVD = 16 * 2048

# linux/fs.h and linux/fiemap.h
_FS_IOC_FIEMAP = 0xC020660B
_FIEMAP_FLAG_SYNC = 0x1
_FIEMAP_EXTENT_LAST = 0x1
# Extents whose bytes are not plainly at their physical offset: unknown or delayed
# allocation, encoded (compressed, encrypted), inline in metadata, not block aligned, or
# allocated but never written (reads as zeros through the filesystem, not from the device).
_FIEMAP_EXTENT_UNUSABLE = 0x2 | 0x4 | 0x8 | 0x80 | 0x100 | 0x200 | 0x800
_FIEMAP_BATCH = 256


class LayoutError(Exception):
    """Why a file's runs are unknown, in words for `sik list`."""


def identity(path: Path) -> IsoIdentity:
    """Size, volume label and the hashes of both ends of an ISO file."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        edge = min(EDGE, size)
        head = os.pread(f.fileno(), edge, 0)
        tail = os.pread(f.fileno(), edge, size - edge)
        pvd = os.pread(f.fileno(), 2048, _PVD)
    label = pvd[40:72].decode("ascii", errors="replace").rstrip(" \x00") if pvd[1:6] == b"CD001" else ""
    return IsoIdentity(size, label, hashlib.sha256(head).hexdigest(), hashlib.sha256(tail).hexdigest())


def file_extents(path: Path, fs: FsType, device: Path | None, on_fs: str) -> tuple[tuple[int, int], ...]:
    """The runs of ``path`` (whose path from the filesystem's root is ``on_fs``) on its
    partition, proved against the device when one is given. Raises LayoutError."""
    if fs is FsType.ext4:
        size, runs = _fiemap(path)
    else:
        if device is None:
            raise LayoutError("sik does not know the data partition's device")
        size, runs = _parsed(device, on_fs)
    if size != path.stat().st_size:
        raise LayoutError("the filesystem's record of the file disagrees with its size")
    if runs:  # the last sector is whole on the device even where the file ends inside it
        runs = (*runs[:-1], (runs[-1][0], _round_up(runs[-1][1])))
    if any(start % _SECTOR or length % _SECTOR for start, length in runs):
        raise LayoutError("the file's runs are not aligned to 512-byte sectors")
    if fs is not FsType.ext4:  # FIEMAP is the kernel's own answer; a parse is proved
        assert device is not None
        _prove(path, device, runs)
    return runs


def _parsed(device: Path, on_fs: str) -> tuple[int, tuple[tuple[int, int], ...]]:
    try:
        fd = os.open(device, os.O_RDONLY)
    except OSError as exc:
        raise LayoutError(f"cannot read {device} ({exc.strerror}): run sik as root") from exc
    try:
        # What the filesystem driver wrote through the page cache of another mapping of the
        # device must not be shadowed by stale pages of ours.
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return file_runs(fd, on_fs)
    except FsLayoutError as exc:
        raise LayoutError(f"cannot read the filesystem's allocation data: {exc}") from exc
    finally:
        os.close(fd)


def _fiemap(path: Path) -> tuple[int, tuple[tuple[int, int], ...]]:
    runs: list[list[int]] = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        start, last = 0, False
        while not last and start < size:
            batch = _fiemap_batch(f.fileno(), start, size - start)
            if not batch:
                break
            for logical, physical, length, flags in batch:
                if flags & _FIEMAP_EXTENT_UNUSABLE:
                    raise LayoutError(
                        f"part of the file is not plainly on disk (FIEMAP flags {flags:#x})"
                    )
                if logical != sum(r[1] for r in runs):
                    raise LayoutError("the file has a hole")
                if runs and runs[-1][0] + runs[-1][1] == physical:
                    runs[-1][1] += length
                else:
                    runs.append([physical, length])
                last = bool(flags & _FIEMAP_EXTENT_LAST)
                start = logical + length
    covered = sum(r[1] for r in runs)
    if covered < size:
        raise LayoutError("FIEMAP does not cover the whole file")
    runs[-1][1] -= covered - _round_up(size)  # the last block's tail is not the file's
    return size, tuple((a, b) for a, b in runs)


def _fiemap_batch(fd: int, start: int, length: int) -> list[tuple[int, int, int, int]]:
    # struct fiemap: u64 start, u64 length, u32 flags, u32 mapped, u32 count, u32 reserved,
    # then count struct fiemap_extent of 56 bytes (u64 logical, physical, length, 2 x u64
    # reserved, u32 flags, 3 x u32 reserved).
    header = struct.pack("=QQIIII", start, length, _FIEMAP_FLAG_SYNC, 0, _FIEMAP_BATCH, 0)
    buffer = array.array("B", header + bytes(56 * _FIEMAP_BATCH))
    try:
        fcntl.ioctl(fd, _FS_IOC_FIEMAP, buffer)
    except OSError as exc:
        raise LayoutError(f"the filesystem answers no FIEMAP ({exc.strerror})") from exc
    mapped = struct.unpack_from("=I", buffer, 20)[0]
    found = []
    for index in range(mapped):
        logical, physical, size = struct.unpack_from("=QQQ", buffer, 32 + 56 * index)
        flags = struct.unpack_from("=I", buffer, 32 + 56 * index + 40)[0]
        found.append((logical, physical, size, flags))
    return found


def _round_up(size: int) -> int:
    return -(-size // _SECTOR) * _SECTOR


def read_through(device: Path, runs: tuple[tuple[int, int], ...], start: int, length: int) -> bytes:
    """The file's bytes ``start``..``start+length`` read from ``device`` through ``runs``."""
    out = bytearray()
    logical = 0
    fd = os.open(device, os.O_RDONLY)
    try:
        for physical, run in runs:
            if length <= 0:
                break
            if logical + run > start:
                skip = start - logical
                take = min(run - skip, length)
                os.posix_fadvise(fd, physical + skip, take, os.POSIX_FADV_DONTNEED)
                out += os.pread(fd, take, physical + skip)
                start, length = start + take, length - take
            logical += run
    finally:
        os.close(fd)
    return bytes(out)


def _prove(path: Path, device: Path, runs: tuple[tuple[int, int], ...]) -> None:
    size = path.stat().st_size
    edge = min(EDGE, size)
    with open(path, "rb") as f:
        for start in {0, size - edge}:
            if os.pread(f.fileno(), edge, start) != read_through(device, runs, start, edge):
                raise LayoutError(
                    "the stick's allocation data is not on the device yet (unmount and "
                    "remount the stick, then run sik generate)"
                )
