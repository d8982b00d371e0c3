"""Kernel modules an ISO carries outside its initrd, for its own kernel: in squashfs images
(Alpine's modloop-<flavour>, a live system's root) and in the installer's udebs (Debian's
loop-modules-<version>-di, md-modules-<version>-di). sik ships such a module in its initrd
when the ISO's initrd lacks it: the distribution's own file, signed by it, never a prebuilt
one (a kernel in lockdown refuses modules its distribution did not sign).

Squashfs images are read in place with unsquashfs (Debian package squashfs-tools) at the
file's offset in the ISO; udebs are ar archives holding a tar (data.tar.xz), read in Python.
"""

from __future__ import annotations

import io
import lzma
import re
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from sik.core.errors import IsoReadError, ToolError
from sik.core.model import ModuleFile
from sik.core.run import run
from sik.detection.iso import IsoView, file_ranges, open_iso, read_ranges

_SQUASHFS_MAGIC = b"hsqs"
_MAX_UDEB = 64 * 2**20
# Where installers keep their udebs, per Debian's pool layout.
_UDEB_DIRS = ("pool/main/l", "pool/main/l/linux-signed-amd64", "pool/main/l/linux")


def find_modules(iso: Path, version: str, names: Iterable[str]) -> tuple[ModuleFile, ...]:
    """Every module of ``names`` (and what each depends on) found in the ISO for kernel
    ``version``; the first container that has a module wins."""
    wanted = set(names)
    found: dict[str, ModuleFile] = {}
    try:
        with open_iso(iso) as view:
            containers = list(_containers(view))
    except IsoReadError:
        return ()
    for container, kind in containers:
        if wanted <= found.keys():
            break
        try:
            tree = _squashfs_tree(iso, container) if kind == "squashfs" else _udeb_tree(iso, container)
        except (ToolError, IsoReadError, OSError, tarfile.TarError, lzma.LZMAError, ValueError):
            continue
        for module in _in_tree(tree, container, version, wanted - found.keys()):
            found.setdefault(module.name, module)
        wanted |= {dep for module in found.values() for dep in module.depends}
    return tuple(found[name] for name in sorted(found))


def read_module(iso: Path, module: ModuleFile) -> bytes:
    """The bytes of one module found by ``find_modules``, uncompressed."""
    with open_iso(iso) as view:
        ranges = file_ranges(view, module.container)
    if ranges is None:
        raise IsoReadError(f"{module.container} is missing from {iso.name}")
    if module.path.startswith("udeb:"):
        data = _udeb_member(read_ranges(iso, ranges), module.path.removeprefix("udeb:"))
    else:
        offset = ranges[0][0]
        data = run(["unsquashfs", "-o", str(offset), "-cat", iso, module.path], capture=True).stdout
    return _uncompressed(data, module.path)


def _containers(view: IsoView) -> Iterator[tuple[PurePosixPath, str]]:
    """Squashfs images (by their magic, in the usual places) and module udebs."""
    places = ("", "boot", "live", "casper", "LiveOS", "arch", "images")
    for place in places:
        for name in view.listdir(place or "/"):
            path = PurePosixPath("/" + place) / name if place else PurePosixPath("/" + name)
            if view.is_dir(path):
                continue
            named = name.endswith((".squashfs", ".sfs", ".img")) or name.startswith("modloop")
            if named and _starts_with(view, path, _SQUASHFS_MAGIC):
                yield path, "squashfs"
    for place in _UDEB_DIRS:
        for package in view.listdir(place):
            directory = f"{place}/{package}"
            for name in view.listdir(directory):
                if name.endswith(".udeb") and name.startswith(("loop-modules-", "md-modules-")):
                    yield PurePosixPath(f"/{directory}/{name}"), "udeb"


def _starts_with(view: IsoView, path: PurePosixPath, magic: bytes) -> bool:
    text = view.read_text(path, limit=len(magic))
    return text is not None and text.encode("utf-8", errors="replace")[: len(magic)] == magic


def _squashfs_tree(iso: Path, container: PurePosixPath) -> dict[str, bytes | None]:
    """The image's paths (file contents read later, except modules.dep, read now)."""
    with open_iso(iso) as view:
        ranges = file_ranges(view, container)
    if ranges is None or len(ranges) != 1:
        raise ValueError("not one contiguous file")
    offset = str(ranges[0][0])
    listing = run(["unsquashfs", "-o", offset, "-lc", iso], capture=True).stdout.decode(errors="replace")
    tree: dict[str, bytes | None] = {}
    for line in listing.splitlines():
        path = line.removeprefix("squashfs-root/").strip()
        tree[path] = None
        if path.endswith("/modules.dep"):
            tree[path] = run(["unsquashfs", "-o", offset, "-cat", iso, path], capture=True).stdout
    return tree


def _udeb_tree(iso: Path, container: PurePosixPath) -> dict[str, bytes | None]:
    with open_iso(iso) as view:
        ranges = file_ranges(view, container)
    if ranges is None or sum(length for _, length in ranges) > _MAX_UDEB:
        raise ValueError("missing or too large")
    with _data_tar(read_ranges(iso, ranges)) as tar:
        return {"udeb:" + m.name.removeprefix("./"): None for m in tar.getmembers() if m.isfile()}


def _in_tree(
    tree: dict[str, bytes | None], container: PurePosixPath, version: str, wanted: set[str]
) -> Iterator[ModuleFile]:
    pattern = re.compile(rf"^(?:udeb:)?(.*?/)?{re.escape(version)}/(.+/)?([^/]+)\.ko(\.(?:xz|gz|zst))?$")
    deps = _dependencies(tree, version)
    for path in tree:
        match = pattern.match(path)
        if not match:
            continue
        name = match.group(3).replace("-", "_")
        if name in wanted:
            yield ModuleFile(name, container, path, deps.get(name, ()))


def _dependencies(tree: dict[str, bytes | None], version: str) -> dict[str, tuple[str, ...]]:
    for path, body in tree.items():
        if body is not None and path.endswith(f"{version}/modules.dep"):
            deps = {}
            for line in body.decode(errors="replace").splitlines():
                module, _, rest = line.partition(":")
                deps[_name(module)] = tuple(_name(d) for d in rest.split())
            return deps
    return {}


def _name(path: str) -> str:
    base = PurePosixPath(path).name
    for suffix in (".xz", ".gz", ".zst"):
        base = base.removesuffix(suffix)
    return base.removesuffix(".ko").replace("-", "_")


def _data_tar(udeb: bytes) -> tarfile.TarFile:
    """The data.tar.* member of a .deb/.udeb (an ar archive: 8-byte magic, 60-byte headers)."""
    if udeb[:8] != b"!<arch>\n":
        raise ValueError("not an ar archive")
    pos = 8
    while pos + 60 <= len(udeb):
        header = udeb[pos : pos + 60]
        name = header[:16].decode(errors="replace").strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = udeb[pos + 60 : pos + 60 + size]
        if name.startswith("data.tar"):
            return tarfile.open(fileobj=io.BytesIO(body), mode="r:*")
        pos += 60 + size + (size & 1)
    raise ValueError("no data.tar in the archive")


def _udeb_member(udeb: bytes, path: str) -> bytes:
    with _data_tar(udeb) as tar:
        for member in tar.getmembers():
            if member.name.removeprefix("./") == path:
                handle = tar.extractfile(member)
                if handle is not None:
                    return handle.read()
    raise IsoReadError(f"{path} is missing from its udeb")


def _uncompressed(data: bytes, path: str) -> bytes:
    """Modules compressed after signing (.ko.xz, .ko.gz, .ko.zst) unpack to the signed file."""
    if path.endswith(".xz"):
        return lzma.decompress(data)
    if path.endswith(".gz"):
        import gzip

        return gzip.decompress(data)
    if path.endswith(".zst"):
        return run(["zstd", "-dcq"], input=data, capture=True).stdout
    return data
