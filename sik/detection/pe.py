"""The few facts sik reads from PE/COFF images (EFI programs: kernels with an EFI stub, shim,
GRUB, memtest86+, iPXE), through a byte-range reader so an image inside an ISO is never read
whole.

Structures from Microsoft's "PE Format" specification: the MS-DOS stub's e_lfanew at 0x3C, the
"PE\\0\\0" signature, the COFF file header (20 bytes), the optional header (magic 0x10B for
PE32, 0x20B for PE32+) whose data directory 4 is the certificate table (a *file* offset and a
size, unlike every other directory), and 40-byte section headers.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

# (offset, length) -> the bytes there; shorter near the end of the file.
Reader = Callable[[int, int], bytes]

_PE32, _PE32_PLUS = 0x10B, 0x20B
# Where the data directories start inside the optional header, per magic.
_DIRECTORIES_AT = {_PE32: 96, _PE32_PLUS: 112}
_CERT_TABLE = 4  # IMAGE_DIRECTORY_ENTRY_SECURITY
_MAX_SECTIONS = 96  # the COFF limit is 65535; real EFI programs have fewer than 20
_MAX_HEADER = 64 * 1024
_MAX_STRINGS = 4096  # the part of the COFF string table section names can point into


@dataclass(frozen=True)
class Section:
    name: str
    virtual_size: int
    raw_size: int
    raw_offset: int


@dataclass(frozen=True)
class PeImage:
    """An EFI program's section table and where its Authenticode certificates are."""

    sections: tuple[Section, ...]
    cert_offset: int  # file offset of the certificate table; 0 when there is none
    cert_size: int

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)


def reader_of(data: bytes) -> Reader:
    """A Reader over bytes already in memory."""
    return lambda offset, length: data[offset : offset + length]


def parse_pe(read: Reader) -> PeImage | None:
    """The section table and certificate table of a PE image, or None when ``read`` does not
    hold one (a bzImage without an EFI stub, a text file, a truncated header)."""
    dos = read(0, 64)
    if len(dos) < 64 or dos[:2] != b"MZ":
        return None
    (pe_at,) = struct.unpack_from("<I", dos, 0x3C)
    if pe_at > _MAX_HEADER:
        return None
    head = read(pe_at, 24)
    if len(head) < 24 or head[:4] != b"PE\0\0":
        return None
    sections_count, symbols_at, symbols, optional_size = struct.unpack_from("<H4xIIH", head, 6)
    optional = read(pe_at + 24, optional_size)
    if len(optional) < 2 or sections_count > _MAX_SECTIONS:
        return None
    (magic,) = struct.unpack_from("<H", optional, 0)
    cert_offset = cert_size = 0
    if magic in _DIRECTORIES_AT:
        start = _DIRECTORIES_AT[magic]
        count = struct.unpack_from("<I", optional, start - 4)[0] if len(optional) >= start else 0
        entry = start + 8 * _CERT_TABLE
        if count > _CERT_TABLE and len(optional) >= entry + 8:
            cert_offset, cert_size = struct.unpack_from("<II", optional, entry)
    table = read(pe_at + 24 + optional_size, 40 * sections_count)
    if len(table) < 40 * sections_count:
        return None
    # Names longer than 8 bytes (".vendor_cert", ".sbatlevel") are "/N": N is an offset into
    # the COFF string table, which follows the symbol table (18 bytes a symbol).
    strings = read(symbols_at + 18 * symbols, _MAX_STRINGS) if symbols_at else b""
    return PeImage(tuple(_sections(table, sections_count, strings)), cert_offset, cert_size)


def _sections(table: bytes, count: int, strings: bytes) -> list[Section]:
    sections = []
    for index in range(count):
        raw_name, virtual_size, _, raw_size, raw_offset = struct.unpack_from(
            "<8sIIII", table, 40 * index
        )
        name = raw_name.rstrip(b"\0").decode("ascii", "replace")
        if name.startswith("/") and name[1:].isdigit():
            at = int(name[1:])
            name = strings[at : strings.find(b"\0", at)].decode("ascii", "replace") or name
        sections.append(Section(name, virtual_size, raw_size, raw_offset))
    return sections


def section_data(read: Reader, image: PeImage, name: str, limit: int = 1024 * 1024) -> bytes | None:
    """The bytes of section ``name`` as the loader maps them (its virtual size, which may be
    less than the file's padded raw size), at most ``limit``; None when there is no such section."""
    section = image.section(name)
    if section is None:
        return None
    size = min(section.virtual_size or section.raw_size, section.raw_size, limit)
    return read(section.raw_offset, size)


def sbat_text(read: Reader, image: PeImage) -> str:
    """The .sbat section (CSV lines: component, generation, vendor, package, version, URL), or
    "" for an image without one."""
    data = section_data(read, image, ".sbat", limit=64 * 1024) or b""
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


def sbat_generations(text: str) -> dict[str, int]:
    """component -> generation, from .sbat or shim's .sbatlevel lines ("grub,5,...")."""
    generations: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) >= 2 and fields[1].strip().isdigit():
            generations[fields[0].strip()] = int(fields[1])
    return generations
