"""`sik install`: a new stick from nothing, on an image file or a named drive."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sik.bootloader import install_grub
from sik.drive import DriveLayout, create_image, format_partitions, partition
from sik.errors import StickError
from sik.generate import build_menu, write_menu
from sik.grubenv import update_env
from sik.model import FsType, MenuOptions
from sik.mount import mounted_data_partition
from sik.stick import Stick

Step = Callable[[str], None]


def install(target: Path, *, fs: FsType, size: int | None, step: Step = lambda _: None) -> DriveLayout:
    """Partition, format and make bootable ``target``; an image file is created when ``size``
    is given. Everything on the target is lost: callers confirm first."""
    if size is not None:
        step(f"creating {target} ({size / 2**30:.1f} GiB, sparse)")
        create_image(target, size)
    elif not target.exists():
        raise StickError(f"{target} does not exist")
    step("partitioning (GPT: BIOS boot, EFI System, data)")
    layout = partition(target)
    step(f"formatting (EFI: FAT32, data: {fs})")
    layout = format_partitions(layout, fs)
    with mounted_data_partition(layout) as root:
        stick = Stick(root=root, fs=fs)
        stick.create_layout()
        step("installing GRUB for BIOS and UEFI")
        install_grub(layout, root)
        # save_env rewrites grubenv in place, so the file must exist at its full size.
        update_env(stick.grubenv)
        write_menu(stick, build_menu(stick, MenuOptions()))
    return layout
