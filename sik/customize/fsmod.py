"""The secondary initrd that loads a filesystem module taken from the ISO itself, before the
distribution's initramfs looks for its ISO file (Medium.iso_file_fsmod).

Only initramfs-tools images are served (Debian live-boot, Ubuntu casper, Tails, Kali, ...):
their /init sources every file in /conf/conf.d right after mounting /proc, /sys and /dev,
before it loads a driver, runs a hook or looks for its root (initramfs-tools 0.142, /init).
sik's file there insmods the modules by path, so neither the ISO's ORDER files nor its
modules.dep(.bin) index need merging. Other init systems (NixOS stage 1, Slax's livekit,
linuxrc, genkernel) have no such early hook sik knows; the strategy does not apply to them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import PurePosixPath

from sik.core.resources import data_dir
from sik.customize.cpio import Member

# Boot method value -> the init system whose early hook loads the modules.
FSMOD_FLAVOURS: Mapping[str, str] = {
    "live-boot": "initramfs-tools",
    "casper": "initramfs-tools",
}
# (file under overlays/, path in the initramfs) of the hook, per flavour.
_HOOKS: Mapping[str, tuple[str, str]] = {
    "initramfs-tools": ("initramfs-tools/fsmod", "conf/conf.d/sik-fsmod"),
}
# Outside lib/: a directory entry there would replace a merged-/usr image's lib -> usr/lib link.
MODULE_DIR = PurePosixPath("sik/fsmod")


def fsmod_flavour(method: str) -> str | None:
    return FSMOD_FLAVOURS.get(str(method))


def hook_digest(flavour: str) -> str:
    """Changes when the hook does: part of every fsmod initrd's name, so an upgraded sik
    writes new ones instead of trusting those an older sik left."""
    source, _ = _HOOKS[flavour]
    return hashlib.sha256((data_dir("overlays") / source).read_bytes()).hexdigest()[:16]


def fsmod_members(flavour: str, release: str, modules: tuple[tuple[str, bytes], ...]) -> list[Member]:
    """The hook, the modules (file name, bytes) and the two lists it reads: the kernel release
    they were built for and their load order."""
    source, dest = _HOOKS[flavour]
    members = [Member.file(dest, (data_dir("overlays") / source).read_bytes())]
    members += [Member.file((MODULE_DIR / name).as_posix(), data) for name, data in modules]
    order = "".join(f"{name}\n" for name, _ in modules)
    members.append(Member.file((MODULE_DIR / "order").as_posix(), order.encode()))
    members.append(Member.file((MODULE_DIR / "release").as_posix(), f"{release}\n".encode()))
    return members
