"""Where a file's bytes lie on an exFAT or FAT32 partition, read from the filesystem's own
allocation data on the device: FIEMAP does not pass through FUSE (exfat-fuse, fusefat), and
Linux's exfat and vfat drivers answer it only partly (FIBMAP, for root), so sik reads the
structures itself, read-only:

- exFAT (the exFAT specification, Microsoft, 2019: 3.1 boot sector, 4 FAT, 6 directory
  entries, 7.6 stream extension): the file's stream extension entry gives its first cluster
  and length; GeneralSecondaryFlags bit 1 (NoFatChain) says the clusters are one run,
  otherwise the FAT chains them.
- FAT32 (Microsoft's FAT specification, "FAT: General Overview of On-Disk Format", 1.03:
  the BPB, FAT32 entries, short and long directory entries): the directory entry's first
  cluster, then the FAT chain.

Paths are looked up from the root directory, names compared without regard to case as both
filesystems do. Every read is bounds-checked: a damaged filesystem raises FsLayoutError.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

_MAX_CHAIN = 1 << 26  # clusters: a chain longer than any 2 TiB volume holds is a loop
_MAX_DIR_BYTES = 64 * 2**20


class FsLayoutError(Exception):
    """The filesystem on the device does not hold the file, or is damaged."""


@dataclass(frozen=True)
class _Geometry:
    sector: int
    cluster: int
    fat_offset: int  # bytes from the partition's start
    heap_offset: int  # byte offset of cluster 2
    cluster_count: int
    root_cluster: int
    fat_entry_mask: int
    end_of_chain: int  # entries at or above this end a chain

    def offset(self, cluster: int) -> int:
        if not 2 <= cluster < self.cluster_count + 2:
            raise FsLayoutError(f"cluster {cluster} is outside the volume")
        return self.heap_offset + (cluster - 2) * self.cluster


class _Device:
    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.size = os.lseek(fd, 0, os.SEEK_END)

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset + length > self.size:
            raise FsLayoutError(f"a read at byte {offset} runs past the end of the partition")
        data = os.pread(self._fd, length, offset)
        if len(data) != length:
            raise FsLayoutError(f"short read at byte {offset}")
        return data


def file_runs(fd: int, path: str) -> tuple[int, tuple[tuple[int, int], ...]]:
    """The size of the file at ``path`` (from the root, "/" separated) on the exFAT or FAT32
    filesystem of the open partition ``fd``, and its runs of (byte offset, length) in file
    order, adjacent clusters merged and the last run cut to the file's size."""
    device = _Device(fd)
    boot = device.read(0, 512)
    if boot[3:11] == b"EXFAT   ":
        return _ExFat(device, boot).runs(path)
    if boot[82:90] == b"FAT32   ":
        return _Fat32(device, boot).runs(path)
    raise FsLayoutError("the partition holds neither exFAT nor FAT32")


class _Chains:
    """What both filesystems share: FAT chains and turning clusters into byte runs."""

    geometry: _Geometry
    device: _Device

    def chain(self, first: int) -> Iterator[int]:
        g = self.geometry
        cluster, seen = first, 0
        while 2 <= cluster < g.end_of_chain:
            yield cluster
            seen += 1
            if seen > min(_MAX_CHAIN, g.cluster_count):
                raise FsLayoutError("a FAT chain loops")
            entry = self.device.read(g.fat_offset + cluster * 4, 4)
            cluster = int.from_bytes(entry, "little") & g.fat_entry_mask
        if cluster < 2:  # a free (0) or reserved (1) entry inside a chain: damage
            raise FsLayoutError(f"a FAT chain runs into the value {cluster:#x}")

    def runs_of(self, clusters: Iterator[int] | range, size: int) -> tuple[tuple[int, int], ...]:
        runs: list[list[int]] = []
        left = size
        for cluster in clusters:
            if left <= 0:
                break
            offset = self.geometry.offset(cluster)
            take = min(self.geometry.cluster, left)
            if runs and runs[-1][0] + runs[-1][1] == offset:
                runs[-1][1] += take
            else:
                runs.append([offset, take])
            left -= take
        if left > 0:
            raise FsLayoutError(f"the file's clusters hold {size - left} of its {size} bytes")
        return tuple((start, length) for start, length in runs)

    def read_chain(self, first: int, limit: int = _MAX_DIR_BYTES) -> bytes:
        parts = []
        for cluster in self.chain(first):
            parts.append(self.device.read(self.geometry.offset(cluster), self.geometry.cluster))
            if len(parts) * self.geometry.cluster > limit:
                raise FsLayoutError("a directory is larger than any sik writes")
        return b"".join(parts)


@dataclass(frozen=True)
class _Found:
    first_cluster: int
    size: int
    contiguous: bool  # exFAT's NoFatChain
    is_dir: bool


class _ExFat(_Chains):
    def __init__(self, device: _Device, boot: bytes) -> None:
        self.device = device
        sector = 1 << boot[108]
        cluster = sector << boot[109]
        if not 512 <= sector <= 4096 or cluster > 32 * 2**20:
            raise FsLayoutError("the exFAT boot sector has impossible sizes")
        self.geometry = _Geometry(
            sector=sector,
            cluster=cluster,
            fat_offset=int.from_bytes(boot[80:84], "little") * sector,
            heap_offset=int.from_bytes(boot[88:92], "little") * sector,
            cluster_count=int.from_bytes(boot[92:96], "little"),
            root_cluster=int.from_bytes(boot[96:100], "little"),
            fat_entry_mask=0xFFFFFFFF,
            end_of_chain=0xFFFFFFF7,  # F7 marks a bad cluster, F8..FF the end
        )

    def runs(self, path: str) -> tuple[int, tuple[tuple[int, int], ...]]:
        found = _Found(self.geometry.root_cluster, 0, False, True)
        for part in [p for p in path.split("/") if p]:
            if not found.is_dir:
                raise FsLayoutError(f"{part}: a parent is not a directory")
            found = self._lookup(self._directory(found), part)
        if found.is_dir:
            raise FsLayoutError(f"{path} is a directory")
        if found.size == 0:
            return 0, ()
        clusters: Iterator[int] | range
        if found.contiguous:
            count = -(-found.size // self.geometry.cluster)
            clusters = range(found.first_cluster, found.first_cluster + count)
        else:
            clusters = self.chain(found.first_cluster)
        return found.size, self.runs_of(clusters, found.size)

    def _directory(self, found: _Found) -> bytes:
        if found.contiguous:
            count = -(-found.size // self.geometry.cluster)
            if found.size > _MAX_DIR_BYTES:
                raise FsLayoutError("a directory is larger than any sik writes")
            return self.device.read(
                self.geometry.offset(found.first_cluster), count * self.geometry.cluster
            )
        return self.read_chain(found.first_cluster)

    def _lookup(self, data: bytes, name: str) -> _Found:
        wanted = name.casefold()
        for entry_name, found in self._entries(data):
            if entry_name.casefold() == wanted:
                return found
        raise FsLayoutError(f"{name}: no such file")

    def _entries(self, data: bytes) -> Iterator[tuple[str, _Found]]:
        pos = 0
        while pos + 32 <= len(data):
            kind = data[pos]
            if kind == 0x00:
                return
            if kind != 0x85:  # not an in-use File entry: skip this one entry
                pos += 32
                continue
            secondary = data[pos + 1]
            attributes = int.from_bytes(data[pos + 4 : pos + 6], "little")
            group = data[pos + 32 : pos + 32 * (secondary + 1)]
            pos += 32 * (secondary + 1)
            if len(group) < 64 or group[0] != 0xC0:
                continue
            flags, name_length = group[1], group[3]
            valid = int.from_bytes(group[8:16], "little")
            first = int.from_bytes(group[20:24], "little")
            size = int.from_bytes(group[24:32], "little")
            if valid != size and not attributes & 0x10:
                raise FsLayoutError("a file's valid data length is not its size (not fully written)")
            name = b"".join(group[i + 2 : i + 32] for i in range(32, len(group), 32) if group[i] == 0xC1)
            text = name.decode("utf-16-le", errors="replace")[:name_length]
            yield text, _Found(first, size, bool(flags & 0x02), bool(attributes & 0x10))


class _Fat32(_Chains):
    def __init__(self, device: _Device, boot: bytes) -> None:
        self.device = device
        sector = int.from_bytes(boot[11:13], "little")
        per_cluster = boot[13]
        reserved = int.from_bytes(boot[14:16], "little")
        fats = boot[16]
        fat_sectors = int.from_bytes(boot[36:40], "little")
        total = int.from_bytes(boot[32:36], "little")
        if sector not in (512, 1024, 2048, 4096) or per_cluster == 0 or fats == 0:
            raise FsLayoutError("the FAT32 boot sector has impossible sizes")
        data_start = reserved + fats * fat_sectors
        self.geometry = _Geometry(
            sector=sector,
            cluster=sector * per_cluster,
            fat_offset=reserved * sector,
            heap_offset=data_start * sector,
            cluster_count=(total - data_start) // per_cluster,
            root_cluster=int.from_bytes(boot[44:48], "little"),
            fat_entry_mask=0x0FFFFFFF,
            end_of_chain=0x0FFFFFF7,
        )

    def runs(self, path: str) -> tuple[int, tuple[tuple[int, int], ...]]:
        found = _Found(self.geometry.root_cluster, 0, False, True)
        for part in [p for p in path.split("/") if p]:
            if not found.is_dir:
                raise FsLayoutError(f"{part}: a parent is not a directory")
            data = self.read_chain(found.first_cluster)
            found = next(
                (f for n, f in _fat_entries(data) if n.casefold() == part.casefold()), None
            ) or _missing(part)
        if found.is_dir:
            raise FsLayoutError(f"{path} is a directory")
        if found.size == 0:
            return 0, ()
        return found.size, self.runs_of(self.chain(found.first_cluster), found.size)


def _missing(name: str) -> _Found:
    raise FsLayoutError(f"{name}: no such file")


def _fat_entries(data: bytes) -> Iterator[tuple[str, _Found]]:
    """(name, entry) for each in-use entry: its long name when one precedes it, else the
    8.3 name as Windows shows it (the lower-case flags of byte 12 applied)."""
    long_parts: list[bytes] = []
    for pos in range(0, len(data) - 31, 32):
        raw = data[pos : pos + 32]
        if raw[0] == 0x00:
            return
        if raw[0] == 0xE5:
            long_parts = []
            continue
        if raw[11] == 0x0F:  # a long-name entry; they come last part first
            long_parts.insert(0, raw[1:11] + raw[14:26] + raw[28:32])
            continue
        attributes = raw[11]
        if attributes & 0x08:  # the volume label
            long_parts = []
            continue
        name = _long_name(long_parts) if long_parts else _short_name(raw)
        long_parts = []
        first = int.from_bytes(raw[20:22], "little") << 16 | int.from_bytes(raw[26:28], "little")
        yield name, _Found(first, int.from_bytes(raw[28:32], "little"), False, bool(attributes & 0x10))


def _long_name(parts: list[bytes]) -> str:
    text = b"".join(parts).decode("utf-16-le", errors="replace")
    return text.split("\x00", 1)[0].rstrip("\uffff")


def _short_name(raw: bytes) -> str:
    base = raw[0:8].decode("cp437", errors="replace").rstrip()
    ext = raw[8:11].decode("cp437", errors="replace").rstrip()
    if raw[12] & 0x08:
        base = base.lower()
    if raw[12] & 0x10:
        ext = ext.lower()
    return f"{base}.{ext}" if ext else base
