"""One file out of a FAT12/16/32 image, read in place: the EFI boot image inside an ISO
(El Torito's EFI entry, or an efi.img file) holds the ISO's own shim.

Microsoft's "FAT: General Overview of On-Disk Format" (1.03): the BIOS parameter block in the
boot sector, the FAT type told by the count of data clusters (< 4085: FAT12, < 65525: FAT16),
32-byte directory entries (8.3 name, attribute at 11, first cluster high word at 20 and low word
at 26, size at 28; 0xE5 deleted, 0x00 the end, attribute 0x0F a long-name part).
"""

from __future__ import annotations

import struct

from sik.detection.pe import Reader

_MAX_CLUSTERS_READ = 1 << 16  # a chain longer than this is a loop in a damaged FAT
_ATTR_LONG_NAME, _ATTR_DIRECTORY, _ATTR_VOLUME = 0x0F, 0x10, 0x08


class _Fat:
    def __init__(self, read: Reader) -> None:
        boot = read(0, 512)
        if len(boot) < 512 or boot[510:512] != b"\x55\xaa":
            raise ValueError("no FAT boot sector")
        self.read = read
        (self.sector, self.per_cluster, reserved, fats, root_entries, total16, fat16) = (
            struct.unpack_from("<HBHBHHxH", boot, 11)
        )
        total32, fat32, self.root_cluster = struct.unpack_from("<II4xI", boot, 32)
        if self.sector not in (512, 1024, 2048, 4096) or not self.per_cluster or not fats:
            raise ValueError("not a FAT boot sector")
        fat_sectors = fat16 or fat32
        self.fat_at = reserved * self.sector
        root_sectors = (root_entries * 32 + self.sector - 1) // self.sector
        self.root_at = (reserved + fats * fat_sectors) * self.sector
        self.root_size = root_sectors * self.sector
        self.data_at = self.root_at + self.root_size
        clusters = (
            (total16 or total32) - reserved - fats * fat_sectors - root_sectors
        ) // self.per_cluster
        self.bits = 12 if clusters < 4085 else 16 if clusters < 65525 else 32
        self.cluster_size = self.sector * self.per_cluster

    def chain(self, first: int) -> list[int]:
        clusters: list[int] = []
        current = first
        end = {12: 0xFF8, 16: 0xFFF8, 32: 0x0FFFFFF8}[self.bits]
        while 2 <= current < end and len(clusters) < _MAX_CLUSTERS_READ:
            clusters.append(current)
            current = self._next(current)
        return clusters

    def _next(self, cluster: int) -> int:
        if self.bits == 12:
            raw = self.read(self.fat_at + cluster * 3 // 2, 2)
            value = int.from_bytes(raw, "little") if len(raw) == 2 else 0xFFF
            return int(value >> 4 if cluster & 1 else value & 0xFFF)
        width = self.bits // 8
        raw = self.read(self.fat_at + cluster * width, width)
        value = int.from_bytes(raw, "little") if len(raw) == width else 0x0FFFFFFF
        return value & 0x0FFFFFFF if self.bits == 32 else value

    def cluster_offset(self, cluster: int) -> int:
        return int(self.data_at + (cluster - 2) * self.cluster_size)

    def directory(self, cluster: int | None) -> bytes:
        if cluster is None:  # FAT12/16: the fixed root directory region
            return self.read(self.root_at, self.root_size)
        return b"".join(
            self.read(self.cluster_offset(c), self.cluster_size) for c in self.chain(cluster)
        )

    def lookup(self, data: bytes, name: str) -> tuple[int, int, bool] | None:
        """(first cluster, size, is a directory) of the entry whose 8.3 name is ``name``."""
        wanted = _short_name(name)
        for pos in range(0, len(data) - 31, 32):
            entry = data[pos : pos + 32]
            if entry[0] == 0:
                return None
            attr = entry[11]
            if entry[0] == 0xE5 or attr == _ATTR_LONG_NAME or attr & _ATTR_VOLUME:
                continue
            if entry[:11] == wanted:
                high, low, size = struct.unpack_from("<H4xHI", entry, 20)
                return (high << 16) | low, size, bool(attr & _ATTR_DIRECTORY)
        return None


def _short_name(name: str) -> bytes:
    stem, _, ext = name.upper().partition(".")
    return stem.ljust(8)[:8].encode("ascii", "replace") + ext.ljust(3)[:3].encode("ascii", "replace")


def fat_file(read: Reader, path: str) -> Reader | None:
    """A Reader over the file at ``path`` (8.3 names, any case) in the FAT image ``read``
    holds, or None when there is no such file or the image is not FAT."""
    try:
        fat = _Fat(read)
    except ValueError:
        return None
    cluster: int | None = fat.root_cluster if fat.bits == 32 else None
    parts = [p for p in path.split("/") if p]
    for index, part in enumerate(parts):
        found = fat.lookup(fat.directory(cluster), part)
        if found is None or found[2] != (index < len(parts) - 1):
            return None
        cluster = found[0]
        size = found[1]
    if cluster is None:
        return None
    clusters = fat.chain(cluster)

    def read_file(offset: int, length: int) -> bytes:
        length = max(0, min(length, size - offset))
        out = []
        while length > 0:
            index, within = divmod(offset, fat.cluster_size)
            if index >= len(clusters):
                break
            take = min(length, fat.cluster_size - within)
            out.append(read(fat.cluster_offset(clusters[index]) + within, take))
            offset, length = offset + take, length - take
        return b"".join(out)

    return read_file
