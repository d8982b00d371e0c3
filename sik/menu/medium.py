"""How each booted system finds its ISO: the per-ISO medium strategy (sik.core.model.Medium),
chosen from the boot method, the stick's filesystem and what the ISO itself offers. Pure
functions; the planner calls them for every entry, in this order of preference:

1. GRUB: GRUB alone reads what the entry boots (memtest86+, iPXE, GRUB images, loopback.cfg).
2. ISO file: the distribution's initramfs reads the stick's filesystem and loop-mounts the file.
3. ISO file + filesystem module from the ISO: it could, with a driver its initramfs lacks and
   its own module tree has (sik/customize/fsmod.py loads it early).
"""

from __future__ import annotations

from sik.core.model import BootMethod, FsModule, FsType, Medium
from sik.customize.fsmod import fsmod_flavour
from sik.detection.kmodules import FoundModules, NoModules, module_file_name

_GRUB_ONLY = frozenset(
    {BootMethod.memtest, BootMethod.loopback_cfg, BootMethod.ipxe, BootMethod.grub_image}
)


def needs_fs_module(method: BootMethod, fs: FsType | None) -> bool:
    """Whether an ISO booted by ``method`` from a ``fs`` stick is worth looking into for a
    filesystem module: its initramfs cannot read ``fs``, and sik can load one into it."""
    return (
        method not in _GRUB_ONLY
        and fs is not None
        and fs not in method.readable_filesystems()
        and bool(fs.kernel_modules())
        and fsmod_flavour(method) is not None
    )


def choose_medium(
    method: BootMethod, fs: FsType | None, module: FsModule | FoundModules | NoModules | None
) -> Medium | None:
    """The first strategy that boots the ISO from a ``fs`` stick (None: the stick's filesystem
    is unknown), or None when none does. ``module`` is what the ISO offers of ``fs``'s module,
    when it was looked for."""
    if method in _GRUB_ONLY:
        return Medium.grub
    if fs is None or fs in method.readable_filesystems():
        return Medium.iso_file
    if isinstance(module, FsModule | FoundModules):
        return Medium.iso_file_fsmod
    if isinstance(module, NoModules) and module.built_in:
        return Medium.iso_file
    return None


def describe_modules(module: FsModule | FoundModules) -> str:
    """ "exfat.ko for 6.1.0-57-amd64 from /live/filesystem.squashfs": for `sik list`."""
    names = ", ".join(module_file_name(m) for m in module.members)
    return f"{names} for {module.release} from {module.squashfs}"
