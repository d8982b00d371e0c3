"""Read-only questions about an ISO file, answered without extracting or mounting anything.

Paths given to it are ISO-absolute or relative ("live/vmlinuz" and "/live/vmlinuz" mean the
same) and are matched in the richest namespace the image carries: Rock Ridge, then Joliet,
then plain ISO 9660 (upper case, ";1" version suffix).

``open_iso`` reads only the volume descriptors and the directory extents along the paths a
detector asks about, so the cost does not grow with the number of files on the image. The
structures are those of ECMA-119 (4th edition, 2019: volume descriptors 8.4/8.5, directory
records 9.1), SUSP 1.12 (IEEE P1281: SP, CE, ST, ER entries) and RRIP 1.12 (IEEE P1282: NM,
CL, RE entries), and Microsoft's Joliet specification (1995: UCS-2 big-endian names in a
supplementary volume descriptor with escape sequence %/@, %/C or %/E).

pycdlib, which parses the whole tree first, is the reference these answers are tested against
(tests/reference_reader.py); it is not used at run time.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from sik.core.errors import IsoReadError

SECTOR = 2048
_PVD_OFFSET = 16 * SECTOR
# Bounds against hostile or damaged images: nothing below reads more, or loops longer.
_MAX_DESCRIPTORS = 64  # volume descriptors before the terminator
_MAX_DIR_BYTES = 32 * 1024 * 1024  # one directory extent (about 150,000 entries)
_MAX_DEPTH = 64  # path components in one question
_MAX_CONTINUATIONS = 16  # SUSP CE areas chained from one record
_MAX_METADATA_BYTES = 256 * 1024 * 1024  # all descriptors, directories and CE areas of one open
_JOLIET_ESCAPES = (b"%/@", b"%/C", b"%/E")  # UCS-2 levels 1, 2, 3
_RRIP_IDS = (b"RRIP_1991A", b"IEEE_P1282", b"IEEE_1282")
_FLAG_DIR, _FLAG_MULTI_EXTENT = 0x02, 0x80


class IsoView(Protocol):
    """What a detector may ask of an ISO. Every method is cheap and never raises for a
    missing path: it answers False, None or an empty tuple."""

    @property
    def volume_id(self) -> str: ...

    def exists(self, path: str | PurePosixPath) -> bool: ...

    def is_dir(self, path: str | PurePosixPath) -> bool: ...

    def listdir(self, path: str | PurePosixPath) -> tuple[str, ...]: ...

    def read_text(self, path: str | PurePosixPath, limit: int = 65536) -> str | None: ...

    def first_existing(self, *paths: str) -> PurePosixPath | None: ...


class IsoBytes(IsoView, Protocol):
    """An IsoView that also reads byte ranges, for what sik itself reads beyond detectors'
    questions: the signatures of EFI programs (sik/detection/signatures.py), kernel headers and
    where squashfs images lie (sik/detection/kmodules.py)."""

    def read_range(self, path: str | PurePosixPath, offset: int, length: int) -> bytes: ...

    def read_image(self, offset: int, length: int) -> bytes: ...

    def efi_boot_image(self) -> int | None: ...

    def extents(self, path: str | PurePosixPath) -> tuple[tuple[int, int], ...]: ...


def _absolute(path: str | PurePosixPath) -> str:
    text = "/" + str(path).strip("/")
    return text


def _plain_name(ident: bytes) -> str:
    """ISO 9660 "VMLINUZ.;1" -> "vmlinuz", the way a user would spell it."""
    return ident.decode("ascii", errors="replace").split(";")[0].rstrip(".").lower()


class _Namespace(Enum):
    rock_ridge = "rock ridge"
    joliet = "joliet"
    plain = "iso9660"


@dataclass(frozen=True)
class _Entry:
    name: str  # as listed in the chosen namespace
    key: str  # as matched by a lookup: the Rock Ridge/Joliet name, or the raw ISO identifier
    is_dir: bool
    extents: tuple[tuple[int, int], ...]  # (byte offset, length); several for a multi-extent file
    child_link: int | None = None  # RRIP CL: the directory really lives at this block


@dataclass(frozen=True)
class _Record:
    ident: bytes
    flags: int
    location: int  # logical block
    length: int
    system_use: bytes


class _LazyView:
    """An IsoView over an open file that reads directory extents on demand, once each."""

    def __init__(self, fp: BinaryIO, path: Path, size: int) -> None:
        self._fd = fp.fileno()
        self._name = path.name
        self._size = size
        self._dirs: dict[int, dict[str, _Entry]] = {}
        self._budget = _MAX_METADATA_BYTES
        pvd, joliet = self._descriptors()
        self.volume_id = pvd[40:72].decode("ascii", errors="replace").rstrip(" \x00")
        self._block = int.from_bytes(pvd[128:130], "little")
        root = self._root_record(pvd)
        self._namespace, self._skip = self._rock_ridge(root)
        if self._namespace is not _Namespace.rock_ridge and joliet is not None:
            root, self._namespace = self._root_record(joliet), _Namespace.joliet
        self._root = _Entry("", "", True, ((root.location * self._block, root.length),))

    # --- the IsoView protocol ----------------------------------------------------------------

    def exists(self, path: str | PurePosixPath) -> bool:
        return self._lookup(path) is not None

    def is_dir(self, path: str | PurePosixPath) -> bool:
        entry = self._lookup(path)
        return entry is not None and entry.is_dir

    def listdir(self, path: str | PurePosixPath) -> tuple[str, ...]:
        entry = self._lookup(path)
        if entry is None or not entry.is_dir:
            return ()
        return tuple(sorted(child.name for child in self._children(entry).values()))

    def read_text(self, path: str | PurePosixPath, limit: int = 65536) -> str | None:
        entry = self._lookup(path)
        if entry is None or entry.is_dir:
            return None
        chunks: list[bytes] = []
        for offset, length in entry.extents:
            want = min(length, limit - sum(map(len, chunks)))
            if want <= 0:
                break
            if offset + want > self._size:
                return None  # a damaged extent reads as "no such file", never a crash
            chunks.append(self._pread(want, offset))
        return b"".join(chunks).decode("utf-8", errors="replace")

    def first_existing(self, *paths: str) -> PurePosixPath | None:
        for path in paths:
            entry = self._lookup(path)
            if entry is not None and not entry.is_dir:
                return PurePosixPath(_absolute(path))
        return None

    # --- byte ranges (IsoBytes) --------------------------------------------------------------

    def read_range(self, path: str | PurePosixPath, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of a file from ``offset`` (b"" for a missing file)."""
        entry = self._lookup(path)
        if entry is None or entry.is_dir:
            return b""
        chunks: list[bytes] = []
        start = 0  # where the current extent begins in the file
        for extent, size in entry.extents:
            if length > 0 and offset < start + size:
                within = max(0, offset - start)
                take = min(size - within, length)
                if extent + within + take > self._size:
                    break  # a damaged extent ends the file early, never a crash
                chunks.append(self._pread(take, extent + within))
                offset, length = offset + take, length - take
            start += size
        return b"".join(chunks)

    def extents(self, path: str | PurePosixPath) -> tuple[tuple[int, int], ...]:
        """(byte offset, length) of each extent of a file, in order: where a tool that reads
        the image itself finds it (unsquashfs -offset); () for no such file."""
        entry = self._lookup(path)
        if entry is None or entry.is_dir:
            return ()
        return entry.extents

    def read_image(self, offset: int, length: int) -> bytes:
        """Bytes of the image itself, clipped to its size."""
        if offset >= self._size or length <= 0:
            return b""
        return self._pread(min(length, self._size - offset), offset)

    def efi_boot_image(self) -> int | None:
        """Byte offset of the El Torito entry for UEFI (platform 0xEF), or None.

        El Torito 1.0: a boot record volume descriptor (type 0, "EL TORITO SPECIFICATION")
        whose byte 0x47 holds the catalog's block; the catalog is 32-byte entries: validation,
        default, then section headers (0x90, 0x91 for the last; platform at 1, count at 2)
        each followed by its entries (load block at 8).
        """
        for n in range(_MAX_DESCRIPTORS):
            vd = self._read(_PVD_OFFSET + n * SECTOR, SECTOR, "volume descriptor")
            if vd[1:6] != b"CD001" or vd[0] == 255:
                return None
            if vd[0] == 0 and vd[7:30] == b"EL TORITO SPECIFICATION":
                block = int.from_bytes(vd[0x47:0x4B], "little")
                return self._efi_entry(self.read_image(block * SECTOR, SECTOR))
        return None

    def _efi_entry(self, catalog: bytes) -> int | None:
        platform = catalog[1] if catalog else None
        pos = 32
        while pos + 32 <= len(catalog):
            entry = catalog[pos : pos + 32]
            if entry[0] in (0x90, 0x91):  # a section header: its platform, then its entries
                platform = entry[1]
            elif entry[0] == 0x88 and platform == 0xEF:
                return int.from_bytes(entry[8:12], "little") * SECTOR
            elif entry[0] not in (0x00, 0x88):
                break
            pos += 32
        return None

    # --- sik's own use: where a file's bytes are ----------------------------------------------

    def ranges(self, path: str | PurePosixPath) -> tuple[tuple[int, int], ...] | None:
        """The (byte offset, length) parts of a regular file in the image, in order, or None
        when there is no such file or a part runs past the end of the image."""
        entry = self._lookup(path)
        if entry is None or entry.is_dir:
            return None
        if any(offset + length > self._size for offset, length in entry.extents):
            return None
        return entry.extents

    # --- lookups -----------------------------------------------------------------------------

    def _lookup(self, path: str | PurePosixPath) -> _Entry | None:
        parts = [p for p in str(path).split("/") if p]
        if len(parts) > _MAX_DEPTH:
            return None
        entry = self._root
        for i, part in enumerate(parts):
            if not entry.is_dir:
                return None
            found = self._child(self._children(entry), part, last=i == len(parts) - 1)
            if found is None:
                return None
            entry = found
        return entry

    def _child(self, children: dict[str, _Entry], part: str, last: bool) -> _Entry | None:
        if self._namespace is _Namespace.rock_ridge:
            return children.get(part)
        if self._namespace is _Namespace.joliet:
            return children.get(part) or children.get(part + ";1")
        # Plain ISO 9660: names are stored upper case, files with a ";1" version suffix.
        upper = part.upper()
        candidates = (part, upper, upper + ";1", upper + ".;1") if last else (part, upper)
        return next((children[c] for c in candidates if c in children), None)

    def _children(self, directory: _Entry) -> dict[str, _Entry]:
        offset, length = self._extent(directory)
        cached = self._dirs.get(offset)
        if cached is None:
            cached = self._dirs[offset] = self._parse_directory(offset, length)
        return cached

    def _relocated_extent(self, block: int) -> tuple[int, int]:
        # A CL entry names only the block; the directory's size is in its own "." record.
        dot = self._records(self._read(block * self._block, SECTOR, "relocated directory"))
        first = next(dot, None)
        if first is None:
            raise self._damaged(f"relocated directory at block {block} is empty")
        return block * self._block, first.length

    # --- parsing -----------------------------------------------------------------------------

    def _parse_directory(self, offset: int, length: int) -> dict[str, _Entry]:
        if length > _MAX_DIR_BYTES:
            raise self._damaged(f"a directory of {length} bytes is larger than sik reads")
        data = self._read(offset, length, "directory")
        children: dict[str, _Entry] = {}
        pending: list[_Record] = []  # the parts of a multi-extent file seen so far
        for index, record in enumerate(self._records(data)):
            if index < 2 and record.ident in (b"\x00", b"\x01"):
                continue  # "." and ".."
            pending.append(record)
            if record.flags & _FLAG_MULTI_EXTENT:
                continue
            entry = self._entry(pending)
            pending = []
            if entry is not None:
                children.setdefault(entry.key, entry)
        return children

    def _entry(self, parts: list[_Record]) -> _Entry | None:
        last = parts[-1]
        extents = tuple((r.location * self._block, r.length) for r in parts)
        is_dir = bool(last.flags & _FLAG_DIR)
        if self._namespace is _Namespace.joliet:
            name = last.ident.decode("utf-16-be", errors="replace")
            return _Entry(name, name, is_dir, extents)
        raw = last.ident.decode("ascii", errors="replace")
        if self._namespace is _Namespace.plain:
            return _Entry(_plain_name(last.ident), raw, is_dir, extents)
        rr_name, child_link, relocated = self._susp(last.system_use[self._skip :])
        if relocated:
            return None  # listed where its CL placeholder stands, not in rr_moved
        name = rr_name.decode("utf-8", errors="replace") if rr_name else _plain_name(last.ident)
        if child_link is not None:
            return _Entry(name, name, True, extents, child_link)
        return _Entry(name, name, is_dir, extents)

    def _records(self, data: bytes) -> Iterator[_Record]:
        pos = 0
        while pos < len(data):
            size = data[pos]
            if size == 0:  # records never cross a sector: the rest of this one is padding
                pos = (pos // SECTOR + 1) * SECTOR
                continue
            if size < 34 or pos + size > len(data) or pos % SECTOR + size > SECTOR:
                raise self._damaged(f"bad directory record of {size} bytes")
            record = data[pos : pos + size]
            ident_len = record[32]
            if 33 + ident_len > size:
                raise self._damaged("a file name runs past its directory record")
            use_start = 33 + ident_len + (1 - ident_len % 2)  # a pad byte follows an even name
            yield _Record(
                ident=record[33 : 33 + ident_len],
                flags=record[25],
                location=int.from_bytes(record[2:6], "little"),
                length=int.from_bytes(record[10:14], "little"),
                system_use=record[use_start:],
            )
            pos += size

    def _susp(self, area: bytes) -> tuple[bytes, int | None, bool]:
        """Rock Ridge facts from a record's system use area: (NM name, CL block, has RE)."""
        name, child_link, relocated = b"", None, False
        areas, followed = [area], 0
        while areas:
            data = areas.pop()
            pos = 0
            while pos + 4 <= len(data):
                sig, size = data[pos : pos + 2], data[pos + 2]
                if size < 4 or pos + size > len(data) or sig == b"ST":
                    break
                body = data[pos + 4 : pos + size]
                if sig == b"NM" and body and not body[0] & 0x06:  # not "." or ".."
                    name += body[1:]
                elif sig == b"CL" and len(body) >= 4:
                    child_link = int.from_bytes(body[0:4], "little")
                elif sig == b"RE":
                    relocated = True
                elif sig == b"CE" and len(body) >= 24:
                    followed += 1
                    if followed > _MAX_CONTINUATIONS:
                        raise self._damaged("a Rock Ridge continuation chain does not end")
                    areas.append(self._continuation(body))
                pos += size
        return name, child_link, relocated

    def _continuation(self, body: bytes) -> bytes:
        block = int.from_bytes(body[0:4], "little")
        offset = int.from_bytes(body[8:12], "little")
        length = int.from_bytes(body[16:20], "little")
        if length > SECTOR or offset + length > self._block:
            raise self._damaged("a Rock Ridge continuation area is larger than a block")
        return self._read(block * self._block + offset, length, "Rock Ridge continuation area")

    # --- volume descriptors ------------------------------------------------------------------

    def _descriptors(self) -> tuple[bytes, bytes | None]:
        pvd: bytes | None = None
        joliet: bytes | None = None
        for n in range(_MAX_DESCRIPTORS):
            vd = self._read(_PVD_OFFSET + n * SECTOR, SECTOR, "volume descriptor")
            if vd[1:6] != b"CD001" or vd[0] == 255:
                break
            if vd[0] == 1 and pvd is None:
                pvd = vd
            elif vd[0] == 2 and joliet is None and any(e in vd[88:120] for e in _JOLIET_ESCAPES):
                joliet = vd
        if pvd is None:
            raise self._damaged("no primary volume descriptor")
        return pvd, joliet

    def _root_record(self, descriptor: bytes) -> _Record:
        # ECMA-119 8.4.18: the root directory's record sits at byte 156 of a volume descriptor.
        root = next(self._records(descriptor[156:190]), None)
        if root is None or not root.flags & _FLAG_DIR:
            raise self._damaged("the root directory record is missing")
        return root

    def _rock_ridge(self, root: _Record) -> tuple[_Namespace, int]:
        """Rock Ridge is in use when the root's "." record starts with SUSP's SP entry (whose
        last byte is how many bytes to skip in every other system use area) and an ER entry
        names RRIP."""
        first = self._read(root.location * self._block, min(root.length, SECTOR), "root directory")
        dot = next(self._records(first), None)
        if dot is None:
            raise self._damaged("the root directory is empty")
        use = dot.system_use
        if len(use) < 7 or use[0:2] != b"SP" or use[4:6] != b"\xbe\xef":
            return _Namespace.plain, 0
        areas, followed, found = [use], 0, False
        while areas and not found:
            data, pos = areas.pop(), 0
            while pos + 4 <= len(data) and data[pos + 2] >= 4:
                sig, size = data[pos : pos + 2], data[pos + 2]
                if sig == b"ER" and pos + 8 <= len(data):
                    id_len = data[pos + 4]
                    found = found or data[pos + 8 : pos + 8 + id_len] in _RRIP_IDS
                elif sig == b"CE" and size >= 28 and followed < _MAX_CONTINUATIONS:
                    followed += 1
                    areas.append(self._continuation(data[pos + 4 : pos + size]))
                pos += size
        return (_Namespace.rock_ridge if found else _Namespace.plain), use[6]

    # --- bytes -------------------------------------------------------------------------------

    def _read(self, offset: int, length: int, what: str) -> bytes:
        self._budget -= length
        if self._budget < 0:  # e.g. a huge directory whose every record chains CE areas
            raise self._damaged("answering needs more metadata than any real ISO has")
        if offset + length > self._size:
            raise self._damaged(
                f"a {what} at byte {offset} runs past the end of the file ({self._size} bytes)"
            )
        data = self._pread(length, offset)
        if len(data) != length:
            raise self._damaged(f"short read of a {what} at byte {offset}")
        return data

    def _pread(self, length: int, offset: int) -> bytes:
        try:
            return os.pread(self._fd, length, offset)
        except OSError as exc:  # EIO from a failing stick, or a view used after its with block
            raise IsoReadError(f"{self._name}: cannot read: {exc.strerror}") from exc

    def check_tree(self) -> int:
        """Read every directory once, as a whole-image reader would, and raise IsoReadError
        for a directory that contains one of its ancestors (a cycle), or any damage the
        lazy lookups would only meet later. Returns the number of entries seen."""
        seen = 0
        stack: list[tuple[_Entry, str, frozenset[int]]] = [(self._root, "", frozenset())]
        while stack:
            directory, where, ancestors = stack.pop()
            offset = self._extent(directory)[0]
            if offset in ancestors:
                raise self._damaged(f"directory {where or '/'} contains one of its own parents")
            if len(ancestors) >= _MAX_DEPTH:
                raise self._damaged(f"directories nested deeper than {_MAX_DEPTH} at {where}")
            inner = ancestors | {offset}
            for child in self._children(directory).values():
                seen += 1
                if child.is_dir:
                    stack.append((child, f"{where}/{child.name}", inner))
        return seen

    def _extent(self, directory: _Entry) -> tuple[int, int]:
        if directory.child_link is not None:
            return self._relocated_extent(directory.child_link)
        return directory.extents[0]

    def close(self) -> None:
        self._fd = -1  # never read a descriptor number the process has since reused

    def _damaged(self, why: str) -> IsoReadError:
        return IsoReadError(f"{self._name}: damaged ISO 9660 image ({why})")


@contextlib.contextmanager
def open_iso(path: Path) -> Iterator[IsoBytes]:
    """Open ``path`` read-only as an ISO 9660 image, or raise IsoReadError saying why not.

    The view reads lazily, so a damaged directory met later also raises IsoReadError."""
    with _opened(path) as (fp, size):
        view = _LazyView(fp, path, size)
        try:
            yield view
        finally:
            view.close()


def file_ranges(view: IsoView, path: str | PurePosixPath) -> tuple[tuple[int, int], ...] | None:
    """Where a file's bytes are in the image (sik's own readers: initrds, squashfs, udebs)."""
    return view.ranges(path) if isinstance(view, _LazyView) else None


def read_ranges(path: Path, ranges: tuple[tuple[int, int], ...], limit: int | None = None) -> bytes:
    """The bytes of a file of the image at ``path``, given its ranges; at most ``limit``."""
    out = bytearray()
    try:
        with open(path, "rb") as f:
            for offset, length in ranges:
                want = length if limit is None else min(length, limit - len(out))
                if want <= 0:
                    break
                data = os.pread(f.fileno(), want, offset)
                if len(data) != want:
                    raise IsoReadError(f"{path.name}: short read at byte {offset}")
                out += data
    except OSError as exc:
        raise IsoReadError(f"{path.name}: cannot read: {exc.strerror}") from exc
    return bytes(out)


def check_iso(path: Path) -> None:
    """Raise IsoReadError unless ``path`` is a whole, undamaged ISO 9660 image: the header
    checks of open_iso plus every directory read once (cycles, absurd or stray extents)."""
    with _opened(path) as (fp, size):
        view = _LazyView(fp, path, size)
        try:
            view.check_tree()
        finally:
            view.close()


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[tuple[BinaryIO, int]]:
    try:
        fp: BinaryIO = open(path, "rb")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise IsoReadError(f"{path.name}: cannot read: {exc.strerror}") from exc
    with fp:
        size = os.fstat(fp.fileno()).st_size
        check_header(path, fp)
        yield fp, size


def check_header(path: Path, fp: BinaryIO) -> None:
    """Check the primary volume descriptor before any parser sees the file, so that the two
    commonest bad inputs, a non-ISO and a truncated copy, get an exact reason."""
    actual = os.fstat(fp.fileno()).st_size
    fp.seek(_PVD_OFFSET)
    descriptor = fp.read(SECTOR)
    if len(descriptor) < 136:
        raise IsoReadError(f"{path.name}: not an ISO 9660 image (file too small to hold one)")
    if descriptor[1:6] != b"CD001":
        raise IsoReadError(f"{path.name}: not an ISO 9660 image (no volume descriptor at sector 16)")
    # ECMA-119 8.4.8 and 8.4.12: volume space size (sectors) at byte 80, logical block size
    # at byte 128, both little-endian first.
    expected = int.from_bytes(descriptor[80:84], "little") * int.from_bytes(
        descriptor[128:130], "little"
    )
    block = int.from_bytes(descriptor[128:130], "little")
    if block not in (512, 1024, 2048):  # ECMA-119 6.1.2: a power of two, at least 512
        raise IsoReadError(f"{path.name}: damaged ISO 9660 image (logical block size {block})")
    if actual < expected:
        raise IsoReadError(
            f"{path.name}: truncated ISO image ({actual} of {expected} bytes)",
            hint="copy the file again; check its checksum against the distribution's",
        )
