"""sik's secondary initrds: deterministic newc cpio archives that GRUB loads after an ISO's own
initrd, written with libarchive (libarchive-c).

The Linux kernel unpacks every cpio archive it finds in the initrd area into the same rootfs,
one after the other, so files in a later archive join (or replace) those of the ISO's initrd
(Documentation/driver-api/early-userspace/buffer-format.rst). The archives are left
uncompressed: every kernel reads plain newc, whereas a compressed one is only read by a kernel
built with that decompressor, and sik's hooks are a few kilobytes.

Same members -> same bytes: members are sorted, parents are listed before children, owners are
root, and every time stamp is SOURCE_DATE_EPOCH (default 0).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

DEFAULT_EPOCH = 0


@dataclass(frozen=True)
class Member:
    """One file (or, with ``data=None``, one directory) of an archive."""

    path: PurePosixPath  # relative to the initramfs root, e.g. scripts/live-bottom/sik
    data: bytes | None
    mode: int = 0o644

    @classmethod
    def file(cls, path: str, data: bytes, *, executable: bool = False) -> Member:
        return cls(PurePosixPath(path), data, 0o755 if executable else 0o644)


def source_date_epoch() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    return int(value) if value.isdigit() else DEFAULT_EPOCH


def cpio_bytes(members: Iterable[Member], *, epoch: int | None = None) -> bytes:
    """The newc archive holding ``members`` and every directory above them, in a stable order."""
    # Imported here: loading libarchive costs every `sik generate` 20 ms, and only a stick
    # with customisations makes an initrd.
    import libarchive
    from libarchive.entry import FileType

    mtime = source_date_epoch() if epoch is None else epoch
    ordered = _with_parents(members)
    out = bytearray()
    with libarchive.custom_writer(lambda chunk: _append(out, chunk), "cpio_newc") as archive:
        for member in ordered:
            is_dir = member.data is None
            data = member.data or b""
            archive.add_file_from_memory(
                member.path.as_posix(),
                len(data),
                data,
                filetype=FileType.DIRECTORY if is_dir else FileType.REGULAR_FILE,
                permission=0o755 if is_dir else member.mode,
                uid=0,
                gid=0,
                mtime=mtime,
                atime=mtime,
                ctime=mtime,
            )
    return bytes(out)


def _append(out: bytearray, chunk: bytes) -> int:
    out += chunk
    return len(chunk)


def _with_parents(members: Iterable[Member]) -> list[Member]:
    by_path: dict[PurePosixPath, Member] = {}
    for member in members:
        if member.path.is_absolute() or ".." in member.path.parts or not member.path.parts:
            raise ValueError(f"initrd member paths are relative and stay inside: {member.path}")
        by_path[member.path] = member
        for parent in member.path.parents:
            if parent.parts:
                by_path.setdefault(parent, Member(parent, None))
    # Sorting by parts puts each directory before what it holds.
    return [by_path[path] for path in sorted(by_path, key=lambda p: p.parts)]
