"""Kernel modules an ISO carries in its own root filesystem, found and read in place.

A live ISO's initramfs holds only the drivers its maker chose; the rest of the kernel's modules
sit in the root squashfs beside the kernel (/live/filesystem.squashfs, /casper/*.squashfs). sik
reads a filesystem driver from there for an initramfs that lacks it (Medium.iso_file_fsmod):
the distribution's own module, signed by it, for the very kernel the entry boots.

Nothing is mounted or copied out whole: the squashfs is one extent of the ISO, and unsquashfs
reads it there (-offset), listing or printing only the paths asked for.
"""

from __future__ import annotations

import gzip
import lzma
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sik.core.errors import SikError, ToolError
from sik.core.model import FsType
from sik.core.run import Arg, find_tool, run
from sik.detection.iso import IsoBytes, open_iso

# The x86 boot protocol (Documentation/arch/x86/boot.rst): "HdrS" at 0x202, the protocol
# version at 0x206, and from version 2.00 on a pointer at 0x20E to the kernel's version string,
# 0x200 bytes before where it points. The string starts with the release `uname -r` prints.
_HEADER_MAGIC = (0x202, b"HdrS")
_VERSION_POINTER = 0x20E
_RELEASE = re.compile(rb"[0-9][0-9A-Za-z._+~-]*")
_SQUASHFS_MAGIC = b"hsqs"
_SQUASHFS_NAMES = re.compile(r".*\.(squashfs|sfs)", re.IGNORECASE)
# Where module trees live in a root filesystem (merged /usr or not; a `lib -> usr/lib` link is
# not followed by unsquashfs, so both spellings are asked for).
_MODULE_ROOTS = ("lib/modules", "usr/lib/modules")
# How distributions ship modules: plain (Debian 12), xz (Debian 13, Fedora), zstd (Ubuntu
# 23.10+, Arch, openSUSE), gzip (older ones). The kernel signs a module before compressing it,
# so the decompressed file is the signed one and loads under lockdown.
_SUFFIXES = (".ko", ".ko.xz", ".ko.zst", ".ko.gz")
_MAX_MODULE = 16 * 1024 * 1024
_LIST_ROOT = "sik"  # unsquashfs -l prints every path under the -d directory's name


@dataclass(frozen=True)
class FoundModules:
    release: str
    squashfs: PurePosixPath  # inside the ISO
    members: tuple[PurePosixPath, ...]  # inside the squashfs, in load order


@dataclass(frozen=True)
class NoModules:
    reason: str  # why the ISO offers none: for `sik list`
    built_in: bool = False  # the kernel reads the filesystem without a module


def kernel_release(iso: IsoBytes, kernel: PurePosixPath) -> str | None:
    """The release of an x86 bzImage (e.g. "6.1.0-57-amd64"), read from its setup header."""
    head = iso.read_range(kernel, 0, 0x10000 + 0x200 + 256)
    offset, magic = _HEADER_MAGIC
    if head[offset : offset + 4] != magic:
        return None
    if int.from_bytes(head[0x206:0x208], "little") < 0x200:
        return None
    where = int.from_bytes(head[_VERSION_POINTER : _VERSION_POINTER + 2], "little") + 0x200
    found = _RELEASE.match(head, where)
    return found.group().decode("ascii") if found else None


def squashfs_images(iso: IsoBytes, kernel: PurePosixPath) -> tuple[tuple[PurePosixPath, int], ...]:
    """The squashfs images in the kernel's directory, with the byte offset each starts at.

    Each is read in place, so only an image stored as one run of the ISO qualifies (an ISO 9660
    file under 4 GiB is one extent; a larger one is several, written one after the other)."""
    found = []
    directory = kernel.parent
    for name in iso.listdir(directory):
        offset = squashfs_offset(iso, directory / name) if _SQUASHFS_NAMES.fullmatch(name) else None
        if offset is not None:
            found.append((directory / name, offset))
    return tuple(found)


def squashfs_offset(iso: IsoBytes, path: PurePosixPath) -> int | None:
    """Where the squashfs image at ``path`` starts in the ISO, when it is one run of bytes."""
    extents = iso.extents(path)
    contiguous = all(a[0] + a[1] == b[0] for a, b in zip(extents, extents[1:], strict=False))
    if extents and contiguous and iso.read_range(path, 0, 4) == _SQUASHFS_MAGIC:
        return extents[0][0]
    return None


def locate_modules(iso_path: Path, kernel: PurePosixPath, fs: FsType) -> FoundModules | NoModules:
    """Where ``fs``'s modules for the kernel at ``kernel`` sit in the ISO, or why nowhere."""
    wanted = fs.kernel_modules()
    if not wanted:
        return NoModules(f"sik knows no kernel module that reads {fs}")
    try:
        with open_iso(iso_path) as iso:
            release = kernel_release(iso, kernel)
            images = squashfs_images(iso, kernel)
        if not images:
            return NoModules(f"no squashfs image beside {kernel} holds a module tree")
        for squashfs, offset in images:
            found = _find_in(iso_path, offset, release, wanted)
            if isinstance(found, tuple):
                return FoundModules(found[0], squashfs, found[1])
            if found is not None:
                return found
    except SikError as error:  # a damaged ISO or squashfs, or no unsquashfs
        return NoModules(f"cannot read the ISO's module tree: {error.message}")
    names = ", ".join(f"{name}.ko" for name in wanted)
    where = f"for kernel {release}" if release else "for its kernel"
    return NoModules(f"the ISO's squashfs images hold no {names} {where}")


def _find_in(
    iso_path: Path, offset: int, release: str | None, wanted: tuple[str, ...]
) -> tuple[str, tuple[PurePosixPath, ...]] | NoModules | None:
    """(release, members) when one squashfs holds every wanted module; NoModules when its
    kernel has the filesystem built in; None to look in the next image."""
    if release is None:
        listed = _listing(iso_path, offset, _MODULE_ROOTS, depth=4)
        releases = {p.name for p in listed if p.parent.as_posix() in _MODULE_ROOTS}
        if len(releases) != 1:
            return None
        release = releases.pop()
    trees = tuple(f"{root}/{release}" for root in _MODULE_ROOTS)
    files = _listing(iso_path, offset, trees, depth=None)
    members = []
    for name in wanted:
        matches = sorted(p for p in files if p.name in {name + s for s in _SUFFIXES})
        # depmod's default search order: updates/ overrides the kernel's own tree.
        matches.sort(key=lambda p: "updates" not in p.parts)
        if not matches:
            return _built_in(iso_path, offset, files, release, name)
        members.append(matches[0])
    return release, tuple(members)


def _built_in(
    iso_path: Path, offset: int, files: list[PurePosixPath], release: str, name: str
) -> NoModules | None:
    for builtin in (p for p in files if p.name == "modules.builtin"):
        text = _cat(iso_path, offset, builtin).decode(errors="replace")
        if any(line.rsplit("/", 1)[-1] == f"{name}.ko" for line in text.splitlines()):
            return NoModules(f"kernel {release} has {name} built in", built_in=True)
    return None


def read_modules(iso_path: Path, found: FoundModules) -> tuple[tuple[str, bytes], ...]:
    """(file name, bytes) of each module, decompressed, in load order: "exfat.ko", ..."""
    with open_iso(iso_path) as iso:
        offset = squashfs_offset(iso, found.squashfs)
    if offset is None:
        raise ToolError(f"{iso_path.name}: {found.squashfs} is no longer a squashfs image in place")
    modules = []
    for member in found.members:
        data = _decompress(member, _cat(iso_path, offset, member))
        modules.append((module_file_name(member), data))
    return tuple(modules)


def module_file_name(member: PurePosixPath) -> str:
    """ "exfat.ko" for .../exfat.ko.zst: the name of the module once decompressed."""
    return member.name.split(".ko")[0] + ".ko"


def _decompress(member: PurePosixPath, data: bytes) -> bytes:
    name = member.name
    if name.endswith(".xz"):
        out = lzma.decompress(data)
    elif name.endswith(".gz"):
        out = gzip.decompress(data)
    elif name.endswith(".zst"):
        zstd = find_tool("zstd", reason=f"decompress {name}", hint="install zstd")
        out = run([zstd, "-q", "-d", "-c"], input=data, capture=True).stdout
    else:
        out = data
    if not out.startswith(b"\x7fELF") or len(out) > _MAX_MODULE:
        raise ToolError(f"{member} is not a kernel module")
    return out


def _unsquashfs() -> Path:
    return find_tool(
        "unsquashfs", reason="read the ISO's own kernel modules", hint="install squashfs-tools"
    )


def _listing(
    iso_path: Path, offset: int, paths: tuple[str, ...], depth: int | None
) -> list[PurePosixPath]:
    """The paths under ``paths`` in the squashfs at ``offset``, relative to its root."""
    limit = ["-max-depth", str(depth)] if depth is not None else []
    argv: list[Arg] = [
        _unsquashfs(),
        "-offset",
        str(offset),
        "-l",
        "-d",
        _LIST_ROOT,
        *limit,
        iso_path,
        *paths,
    ]
    lines = run(argv, capture=True).stdout.decode("utf-8", errors="surrogateescape").splitlines()
    prefix = _LIST_ROOT + "/"
    return [PurePosixPath(line[len(prefix) :]) for line in lines if line.startswith(prefix)]


def _cat(iso_path: Path, offset: int, member: PurePosixPath) -> bytes:
    argv: list[Arg] = [_unsquashfs(), "-offset", str(offset), "-cat", iso_path, member.as_posix()]
    data = run(argv, capture=True).stdout
    if len(data) > _MAX_MODULE:
        raise ToolError(f"{member} is larger than any kernel module")
    return data
