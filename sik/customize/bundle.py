"""Programs sik bundles into its virtual-CD initrds from this host's Debian packages, for
initramfs images that lack them (docs/virtual-cd.md names the packages and their licences):

- busybox-static (GPL-2.0): one static x86-64 binary, /sik/bin/busybox; every step of sik's
  setup runs through it, so the distribution's own tool set does not matter;
- dmsetup (GPL-2.0; libdevmapper LGPL-2.1, libselinux public domain, libudev LGPL-2.1+,
  libpcre2 BSD, glibc LGPL-2.1+): dynamically linked, so it travels with its libraries and
  their loader in /sik/lib and runs as ``/sik/lib/<loader> --library-path /sik/lib``.

Nothing here is compiled or downloaded: the files are the host's installed package files.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sik.core.errors import ToolError
from sik.core.run import run
from sik.customize.cpio import Member

_BUSYBOX_PATHS = (Path("/bin/busybox"), Path("/usr/bin/busybox"))
_ELF_X86_64 = 62
_PT_INTERP = 3


@dataclass(frozen=True)
class Bundles:
    available: frozenset[str]  # "busybox", "dmsetup"
    problem: str | None = None  # why busybox is missing, for `sik list`


def host_bundles() -> Bundles:
    available = set()
    problem = None
    if _static_busybox() is not None:
        available.add("busybox")
    else:
        problem = "this host has no static x86-64 busybox to bundle (install busybox-static)"
    if shutil.which("dmsetup", path="/usr/sbin:/sbin:/usr/bin:/bin") is not None:
        available.add("dmsetup")
    return Bundles(frozenset(available), problem)


def busybox_members() -> list[Member]:
    path = _static_busybox()
    if path is None:
        raise ToolError("no static busybox to bundle", hint="install busybox-static")
    return [Member.file("sik/bin/busybox", path.read_bytes(), executable=True)]


def dmsetup_members() -> list[Member]:
    """dmsetup, every library it loads and the loader, all in /sik/lib (a private folder:
    nothing of the distribution's own /lib is replaced)."""
    binary = shutil.which("dmsetup", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if binary is None:
        raise ToolError("no dmsetup to bundle", hint="install dmsetup")
    members = [Member.file("sik/bin/dmsetup", Path(binary).read_bytes(), executable=True)]
    for library in _libraries(Path(binary)):
        name = "ld-linux.so" if _is_loader(library) else library.name
        members.append(Member.file(f"sik/lib/{name}", library.resolve().read_bytes(), executable=True))
    return members


def _libraries(binary: Path) -> list[Path]:
    # ldd runs the loader in its listing mode on a binary of our own host's packages.
    out = run(["ldd", binary], capture=True).stdout.decode()
    found = []
    for line in out.splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            found.append(Path(match.group(1)))
    return sorted(set(found))


def _is_loader(path: Path) -> bool:
    return path.name.startswith("ld-linux")


def _static_busybox() -> Path | None:
    for path in _BUSYBOX_PATHS:
        try:
            header = path.read_bytes()[:4096] if path.is_file() else b""
        except OSError:
            continue
        if _is_static_x86_64(header):
            return path
    return None


def _is_static_x86_64(header: bytes) -> bool:
    """An ELF64 little-endian x86-64 executable without a PT_INTERP program header."""
    if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
        return False
    if int.from_bytes(header[18:20], "little") != _ELF_X86_64:
        return False
    phoff = int.from_bytes(header[32:40], "little")
    phentsize = int.from_bytes(header[54:56], "little")
    phnum = int.from_bytes(header[56:58], "little")
    for index in range(phnum):
        start = phoff + index * phentsize
        if start + 4 > len(header):
            return False  # headers beyond what we read: not the static busybox we know
        if int.from_bytes(header[start : start + 4], "little") == _PT_INTERP:
            return False
    return True
