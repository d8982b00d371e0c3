"""`sik install`: a new stick from nothing, on an image file or a named drive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sik.core.errors import StickError
from sik.core.model import Firmware, FsType, MenuOptions
from sik.core.run import find_tool, run
from sik.core.stick import Stick
from sik.drive import esp
from sik.drive.bootloader import grub_lib_dir, install_grub
from sik.drive.devices import UDEV_DATA, Drive, list_drives, lsblk_json
from sik.drive.guard import (
    SystemView,
    Target,
    check_target,
    check_unchanged,
    exclusive,
    is_block_device,
    whole_disk,
)
from sik.drive.layout import (
    MIN_DISK_SIZE,
    MKFS,
    DriveLayout,
    create_image,
    format_partitions,
    partition,
    read_layout,
)
from sik.drive.mount import Driver, mounted_data_partition
from sik.drive.sbkeys import load_user_key
from sik.drive.secureboot import SHIM_PATH, UefiSetup, shim_refresh_note
from sik.menu.generate import build_menu, grub_script_checker, write_menu
from sik.menu.grubenv import update_env

Step = Callable[[str], None]


def install(
    target: Path,
    *,
    fs: FsType,
    size: int | None,
    step: Step = lambda _: None,
    warn: Step = lambda _: None,
) -> DriveLayout:
    """Partition, format and make bootable ``target``; an image file is created when ``size``
    is given. Everything on the target is lost: callers confirm first."""
    check_host_tools(fs)
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
        stick = Stick(root=root, fs=fs, uuid=layout.data_uuid)
        stick.initialise()
        step("installing GRUB for BIOS and UEFI")
        setup = install_grub(layout, stick, load_user_key())
        report_uefi(setup, step, warn)
        if fs is FsType.exfat and setup.chain is not None and setup.sik_grub.startswith("not signed"):
            # The default filesystem: say once what it means for a PC with Secure Boot on.
            step(
                "exFAT: with Secure Boot on, the menu needs sik's own GRUB: run `sik secureboot "
                "enroll` once per PC, or make the stick with --fs fat32 or ext4"
            )
        # save_env rewrites grubenv in place, so the file must exist at its full size.
        update_env(stick.grubenv)
        write_menu(stick, build_menu(stick, MenuOptions()))
    return layout


# What `sik install` and `--update` run besides GRUB and mkfs, with the package to install:
# loop devices and probes (util-linux), mounts (mount), the ESP (mtools) and the flush.
_HOST_TOOLS = (
    ("losetup", "util-linux"),
    ("blkid", "util-linux"),
    ("wipefs", "util-linux"),
    ("partx", "util-linux"),
    ("findmnt", "util-linux"),
    ("mount", "mount"),
    ("umount", "mount"),
    ("sync", "coreutils"),
    ("mcopy", "mtools"),
)


def check_host_tools(fs: FsType | None = None) -> tuple[str, ...]:
    """Stop before the first byte is written when this machine lacks what sik needs to finish:
    a stick partitioned and formatted, then left without a boot loader, helps nobody. ``fs``
    adds what making and mounting that data filesystem takes (FAT32 for the ESP always).
    Returns the names of the programs checked."""
    checked = [
        find_tool(
            "grub-mkimage",
            "grub2-mkimage",
            reason="build GRUB's boot images",
            hint="install grub-common (Debian, Ubuntu; grub2-tools on Fedora)",
        ).name
    ]
    for firmware in Firmware:
        grub_lib_dir(firmware)
    checked.append(grub_script_checker().name)
    tools = list(_HOST_TOOLS) + [MKFS[FsType.fat32]]
    if fs is not None:
        tools.append(MKFS[fs])
        driver = Driver.for_fs(fs)
        if driver.is_fuse():
            tools.append((str(driver), driver.package()))
    if load_user_key() is not None:  # sik's GRUB gets signed with it
        tools.append(("sbsign", "sbsigntool"))
    for name, package in tools:
        checked.append(find_tool(name, reason=f"make a stick ({name})", hint=f"install {package}").name)
    return tuple(checked)


def report_uefi(setup: UefiSetup, step: Step, warn: Step) -> None:
    """Say what went on the ESP: the signed chain (or why there is none), sik's GRUB."""
    if setup.chain is not None:
        step(
            f"UEFI with Secure Boot: shim {setup.chain.shim}, GRUB {setup.chain.grub}; "
            f"sik's own GRUB {setup.sik_grub}"
        )
    for note in setup.notes:
        warn(note)


def update(target: Path, *, step: Step = lambda _: None, warn: Step = lambda _: None) -> DriveLayout:
    """Refresh GRUB (both images and the modules) and sik's own files on an existing stick.

    Only what sik owns is written: the MBR and core.img, BOOTX64.EFI, /boot/grub/<platform>/,
    grub.cfg (from the options saved on the stick) and a missing grubenv. ISOs, extensions,
    $HOME, /boot/sik/custom.cfg and every other file stay as they are.
    """
    check_host_tools()
    layout = read_layout(target)
    if layout.data_fs is None or layout.data_uuid is None:
        raise StickError(
            f"the data partition of {target} has no filesystem sik knows",
            hint="this is not a working sik stick; make one with `sik install`",
        )
    check_host_tools(layout.data_fs)
    with mounted_data_partition(layout) as root:
        stick = Stick(root=root, fs=layout.data_fs, uuid=layout.data_uuid)
        stick.claim()
        stick.initialise()
        old_shim = esp.read_file(layout, SHIM_PATH)
        step("installing GRUB for BIOS and UEFI")
        setup = install_grub(layout, stick, load_user_key())
        report_uefi(setup, step, warn)
        refreshed = shim_refresh_note(old_shim, setup.chain)
        if refreshed:
            step(refreshed)
        if not stick.grubenv.exists():
            update_env(stick.grubenv)
        step("writing grub.cfg")
        write_menu(stick, build_menu(stick))
    return layout


def _drive_at(device: Path, udev_dir: Path, lsblk: Mapping[str, Any] | None = None) -> Drive:
    drives = list_drives(lsblk if lsblk is not None else lsblk_json([str(device)]), udev_dir)
    if not drives:
        raise StickError(f"{device} is not a drive (lsblk lists no disk there)")
    return drives[0]


def guard_device(
    device: Path,
    *,
    allow_fixed: bool,
    unmount: bool,
    needed: int = MIN_DISK_SIZE,
    view: SystemView | None = None,
    udev_dir: Path = UDEV_DATA,
    lsblk: Mapping[str, Any] | None = None,
) -> Target:
    """The guard rails of sik.drive.guard, on this machine as it is now (or as ``view``, the
    udev database in ``udev_dir`` and lsblk's JSON in ``lsblk`` describe it)."""
    view = view if view is not None else SystemView.read()
    whole_disk(view, device)  # refuses a missing path, a file or a partition before lsblk runs
    drive = _drive_at(device, udev_dir, lsblk)
    return check_target(view, device, drive, needed=needed, allow_fixed=allow_fixed, unmount=unmount)


def unmount_all(
    device: Path, target: Target, *, allow_fixed: bool, needed: int = MIN_DISK_SIZE
) -> Target:
    """Unmount what ``target`` had mounted (deepest first), then check the device again."""
    for mountpoint in sorted(target.mounted, key=len, reverse=True):
        run(["umount", mountpoint])
    return guard_device(device, allow_fixed=allow_fixed, unmount=False, needed=needed)


def is_image_path(path: Path) -> bool:
    """A regular file, or a new name outside /dev: an image, not a drive."""
    if path.exists():
        return path.is_file()
    return not path.absolute().is_relative_to("/dev")


def prepare_image(image: Path, *, force: bool) -> None:
    """Make room for a new image file at ``image``: refuse an existing one unless ``force``,
    and anything but a regular file whatever the options (a device node is never unlinked)."""
    if is_block_device(image):
        raise StickError(
            f"{image} is a drive, not an image file: --image never erases a drive",
            hint=f"to make a stick on it, name it without --image: sudo sik install {image}",
        )
    if image.exists() and not image.is_file():
        raise StickError(f"{image} exists and is not a regular file", hint="pick another --image")
    if image.exists() and image.stat().st_size > 0 and not force:
        raise StickError(
            f"{image} already exists", hint="pass --force to overwrite it, or another --image"
        )
    if image.exists():
        image.unlink()


def prepare_device(
    device: Path, *, allow_fixed: bool, unmount: bool, unmounting: Step = lambda _: None
) -> Target:
    """The guard rails on ``device``; with ``unmount``, its mounted filesystems are unmounted
    (each named to ``unmounting`` first) and the guard rails run again."""
    target = guard_device(device, allow_fixed=allow_fixed, unmount=unmount)
    if target.mounted:
        for mountpoint in target.mounted:
            unmounting(mountpoint)
        target = unmount_all(device, target, allow_fixed=allow_fixed)
    return target


def recheck_device(
    device: Path,
    confirmed: Target,
    *,
    allow_fixed: bool,
    view: SystemView | None = None,
    udev_dir: Path = UDEV_DATA,
    lsblk: Mapping[str, Any] | None = None,
) -> Target:
    """After the prompt: every guard rail again, and the drive must still be the one the user
    confirmed (device number, size, model, serial)."""
    now = guard_device(
        device, allow_fixed=allow_fixed, unmount=False, view=view, udev_dir=udev_dir, lsblk=lsblk
    )
    check_unchanged(device, confirmed.drive, now.drive)
    return now


def install_device(
    device: Path,
    confirmed: Target,
    *,
    fs: FsType,
    allow_fixed: bool,
    step: Step = lambda _: None,
    warn: Step = lambda _: None,
) -> DriveLayout:
    """`sik install DEVICE` after the user confirmed ``confirmed``: checked once more, then
    written while sik holds the drive exclusively."""
    recheck_device(device, confirmed, allow_fixed=allow_fixed)
    with exclusive(device):
        return install(device, fs=fs, size=None, step=step, warn=warn)


def update_stick(
    device: Path | None, image: Path | None, *, unmount: bool, step: Step, warn: Step = lambda _: None
) -> Path:
    """`sik install --update` on a drive (through the guard rails, whether named as DEVICE or
    as --image) or an image file."""
    target = device or image or Path("sik.img")
    if device is not None or is_block_device(target):
        checked = guard_device(target, allow_fixed=True, unmount=unmount, needed=0)
        if checked.mounted:
            unmount_all(target, checked, allow_fixed=True, needed=0)
        with exclusive(target):
            update(target, step=step, warn=warn)
        return target
    if not target.exists():
        raise StickError(f"{target} does not exist", hint="make a stick with `sik install` first")
    update(target, step=step, warn=warn)
    return target
