"""Read an ISO's initrd at build time: which files it holds, which kernel modules, and the
text of the few files sik's virtual-CD hooks patch (sik/customize/vcd.py). Nothing is
unpacked to disk and nothing in it is run.

An initrd is what the kernel's unpacker takes (Documentation/driver-api/early-userspace/
buffer-format.rst): newc cpio archives one after the other, each plain or compressed, with
zero padding between them (an early microcode archive, then the main one, is common).
Compressed parts are read with Python's own gzip, xz/lzma and bzip2 decoders, and with the
zstd and lz4 programs (Debian packages zstd, lz4) where Python has none; a compressor sik
cannot read (lzop) is reported, not guessed at.
"""

from __future__ import annotations

import bz2
import lzma
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Protocol

from sik.core.errors import IsoReadError, ToolError
from sik.core.model import InitrdFacts
from sik.core.run import run
from sik.detection.iso import file_ranges, open_iso, read_ranges
from sik.detection.kmodules import kernel_release

# More than any initrd sik has met (Ubuntu's is about 80 MB compressed, 250 MB unpacked).
MAX_INITRD = 512 * 2**20
MAX_UNPACKED = 2 * 2**30
_TEXT_LIMIT = 1 * 2**20
_MODULE = re.compile(r"^(?:usr/)?lib/modules/([^/]+)/(.+/)?([^/]+)\.ko(?:\.(?:xz|gz|zst))?$")
_NEWC = (b"070701", b"070702")


class _Stream(Protocol):
    """zlib's, lzma's and bz2's decompressor objects, as used here."""

    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes: ...


class InitrdError(Exception):
    """Why an initrd cannot be read, in words for `sik list`."""


@dataclass
class _Seen:
    files: set[str] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    texts: dict[str, str] = field(default_factory=dict)


def read_initrds(iso: Path, initrds: Iterable[PurePosixPath], texts: Iterable[str]) -> InitrdFacts:
    """What the initrds of one entry hold together, the later over the earlier."""
    seen = _Seen()
    wanted = frozenset(texts)
    try:
        with open_iso(iso) as view:
            for initrd in initrds:
                ranges = file_ranges(view, initrd)
                if ranges is None:
                    raise InitrdError(f"{initrd} is missing from the ISO")
                if sum(length for _, length in ranges) > MAX_INITRD:
                    raise InitrdError(f"{initrd} is larger than any initrd sik reads")
                _archives(read_ranges(iso, ranges), seen, wanted)
    except (InitrdError, IsoReadError, ToolError) as exc:
        message = exc.message if isinstance(exc, (IsoReadError, ToolError)) else str(exc)
        return InitrdFacts(problem=f"sik cannot read its initrd: {message}")
    return InitrdFacts(
        files=frozenset(seen.files),
        modules=frozenset(seen.modules),
        kernel_versions=tuple(sorted(seen.versions)),
        texts=tuple(sorted(seen.texts.items())),
    )


def _archives(data: bytes, seen: _Seen, wanted: frozenset[str]) -> None:
    """Walk concatenated archives, plain or compressed, as the kernel does."""
    pos = 0
    while pos < len(data):
        if data[pos] == 0:  # padding between archives
            pos += 1
            continue
        head = data[pos : pos + 6]
        if head in _NEWC:
            pos = _cpio(data, pos, seen, wanted)
            continue
        unpacked, used = _decompress(data[pos:])
        if len(unpacked) > MAX_UNPACKED:
            raise InitrdError("it unpacks to more than any initrd sik reads")
        _archives(unpacked, seen, wanted)
        pos += used


def _decompress(data: bytes) -> tuple[bytes, int]:
    """The unpacked bytes of the compressed stream at the start of ``data``, and how many
    bytes of ``data`` it took."""
    if data[:2] == b"\x1f\x8b":
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return _drain(stream, data)
    if data[:6] == b"\xfd7zXZ\x00":
        return _drain(lzma.LZMADecompressor(lzma.FORMAT_XZ), data)
    if data[:3] == b"\x5d\x00\x00":
        return _drain(lzma.LZMADecompressor(lzma.FORMAT_ALONE), data)
    if data[:3] == b"BZh":
        return _drain(bz2.BZ2Decompressor(), data)
    if data[:4] == b"\x28\xb5\x2f\xfd":  # zstd: the program reads every frame to the end
        return _program(["zstd", "-dcq"], data, "zstd"), len(data)
    if data[:4] == b"\x02\x21\x4c\x18":  # lz4 legacy frames, as the kernel's lz4 unpacker reads
        return _program(["lz4", "-dcq"], data, "lz4"), len(data)
    if data[:4] == b"\x89LZO":
        raise InitrdError("it is compressed with lzop, which sik does not read")
    raise InitrdError(f"it holds data sik does not recognise (bytes {data[:4].hex()})")


def _drain(stream: _Stream, data: bytes) -> tuple[bytes, int]:
    try:
        out = stream.decompress(data, MAX_UNPACKED + 1)
    except (zlib.error, lzma.LZMAError, OSError, EOFError) as exc:
        raise InitrdError(f"its compressed data is damaged ({exc})") from exc
    if not stream.eof:
        raise InitrdError("its compressed data is cut short")
    return out, len(data) - len(stream.unused_data)


def _program(argv: list[str], data: bytes, package: str) -> bytes:
    try:
        return run(argv, input=data, capture=True).stdout
    except ToolError as exc:
        if "is not installed" in exc.message:
            raise InitrdError(f"it is compressed with {package} (install {package})") from exc
        raise InitrdError(f"{package} could not unpack it") from exc


def _cpio(data: bytes, pos: int, seen: _Seen, wanted: frozenset[str]) -> int:
    """Read one newc archive from ``pos``; return where it ends."""
    members, end = _members(data, pos)
    for name, mode, body in members:
        path = name.lstrip("/").removeprefix("./")
        if not path or path == ".":
            continue
        kind = mode & 0o170000
        module = _MODULE.match(path)
        if module and kind in (0o100000, 0o120000):
            seen.versions.add(module.group(1))
            seen.modules.add(module.group(3).replace("-", "_"))
            continue
        if path.endswith("/modules.builtin") and kind == 0o100000:
            for line in bytes(body).decode(errors="replace").splitlines():
                seen.modules.add(PurePosixPath(line.strip()).name.removesuffix(".ko").replace("-", "_"))
        if kind == 0o40000:
            continue
        seen.files.add(path)
        if path in wanted and kind == 0o100000 and len(body) <= _TEXT_LIMIT:
            seen.texts[path] = bytes(body).decode("utf-8", errors="replace")
        elif path in wanted and kind == 0o120000:
            seen.texts[path] = ""  # a link (to systemd, say): no script sik could patch
    return end


def _members(data: bytes, pos: int) -> tuple[list[tuple[str, int, memoryview]], int]:
    """The (name, mode, body) members of the archive at ``pos``, and the offset past it."""
    view = memoryview(data)
    members: list[tuple[str, int, memoryview]] = []
    while pos + 110 <= len(data):
        header = data[pos : pos + 110]
        if header[:6] not in _NEWC:
            raise InitrdError(f"a cpio header is damaged at byte {pos}")
        try:
            fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError as exc:
            raise InitrdError(f"a cpio header is damaged at byte {pos}") from exc
        mode, size, name_size = fields[1], fields[6], fields[11]
        name_end = pos + 110 + name_size
        name = data[pos + 110 : name_end - 1].decode("utf-8", errors="replace")
        start = _align(name_end)
        end = start + size
        if end > len(data):
            raise InitrdError("an archive is cut short")
        if name == "TRAILER!!!":
            return members, _align(end)
        members.append((name, mode, view[start:end]))
        pos = _align(end)
    raise InitrdError("an archive ends without its trailer")


def _align(offset: int) -> int:
    return (offset + 3) & ~3


def kernel_version(iso: Path, kernel: PurePosixPath) -> str | None:
    """The release of an x86 bzImage (sik/detection/kmodules.py), or None for other kernels."""
    try:
        with open_iso(iso) as view:
            return kernel_release(view, kernel)
    except IsoReadError:
        return None
