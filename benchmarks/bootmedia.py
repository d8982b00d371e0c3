"""The boot benchmark's media: each boot-tested fixture ISO made bootable on its own, the way
hybrid distribution ISOs are, and a sik stick made with the sik CLI holding the same files.

The fixture ISOs (tests/fixtures/liveisos.py) carry a distribution's layout and its own GRUB
menu but no boot record: sik's GRUB is what boots them in the tests. To boot one written to a
disk as `dd` would, or as a CD, it needs the boot loader a distribution puts on its ISO. Here
it gets GRUB, as Fedora's and openSUSE's live ISOs have (Debian's use isolinux for BIOS, which
this machine does not have): a BIOS El Torito image that GRUB's hybrid MBR also starts from a
disk, and an EFI System partition image appended to the ISO for UEFI, which is also its UEFI El
Torito image. Both GRUBs find the ISO by its volume label and read the ISO's own menu file.

What is changed in the ISO's own menu, and why (the comparison stays fair because sik's stick
holds this very file and gets the same arguments through `sik generate --kernel-args`):
- the timeout is 0, as sik's menu is given: a user picks the entry at once on either medium;
- GRUB also talks on the serial port, as sik's menu does with --serial;
- the kernel gets KERNEL_ARGS (the serial console, kernel timestamps, and the log level that
  prints the iso9660 mount line), and loses `quiet`, `splash`, `rhgb`: sik's entries do not pass
  them, and they hide the console lines the milestones are read from.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sik.core.run import Arg, run
from sik.detection.iso import open_iso
from sik.drive.layout import read_layout
from tests.fixtures.liveisos import build_fixture_isos

# Bump when the recipe below changes, so cached bootable ISOs built the old way are not reused.
RECIPE = 1
# printk.time: timestamps even where a kernel is built without them; loglevel=8: the iso9660
# mount line ("ISO 9660 Extensions") is a KERN_DEBUG message, the "ISO found" milestone.
KERNEL_ARGS = "console=ttyS0,115200 printk.time=1 loglevel=8"
SERIAL_LINES = (
    "serial --unit=0 --speed=115200\nterminal_input console serial\nterminal_output console serial\n"
)
# Words a distribution's menu passes that hide the boot's console lines.
_QUIET = frozenset({"quiet", "splash", "rhgb", "splash=silent"})
# Where the fixtures keep their own menu (Debian live; Fedora <= 41 and KIWI, BIOS then UEFI).
MENUS = ("boot/grub/grub.cfg", "boot/grub2/grub.cfg", "EFI/BOOT/grub.cfg")
_COMMON_MODULES = (
    "iso9660", "part_msdos", "part_gpt", "search", "search_label", "normal", "configfile",
    "linux", "echo", "test", "serial", "terminal", "sleep",
)  # fmt: skip
GRUB_HYBRID_MBR = Path("/usr/lib/grub/i386-pc/boot_hybrid.img")
PYTHON = sys.executable


@dataclass(frozen=True)
class Subject:
    """One ISO the benchmark boots, and what tells that it booted."""

    key: str  # the fixture's key in tests/fixtures/liveisos.py
    title: str
    mechanism: str  # the initramfs that finds the ISO: "live-boot", "dracut", "kiwi"
    iso: Path  # the bootable ISO: the very bytes every medium holds
    marker: str  # printed on the serial console by the booted system's /sbin/init


# Fixture key -> (title, mechanism), in the order of the table.
SUBJECTS = {
    "live_boot": ("Debian live (live-boot)", "live-boot"),
    "dracut_live": ("Fedora ≤ 41 live (dracut dmsquash-live)", "dracut"),
    "kiwi_live": ("openSUSE live (KIWI kiwi-live)", "kiwi"),
}


def bootable_subjects(cache: Path, keys: tuple[str, ...], say: Callable[[str], None]) -> list[Subject]:
    """The fixture ISOs named by ``keys``, each made bootable on its own (built once, cached)."""
    fixtures = build_fixture_isos()
    identity = f"{RECIPE} {KERNEL_ARGS} {fixtures.live_boot.parent.name}"
    folder = cache / "boot" / f"r{RECIPE}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"
    subjects = []
    for key in keys:
        source: Path = getattr(fixtures, key)
        target = folder / source.name
        if not target.exists():
            say(f"making {source.name} bootable as a CD and as a disk")
            make_hybrid(source, target)
        title, mechanism = SUBJECTS[key]
        subjects.append(Subject(key, title, mechanism, target, fixtures.markers[key]))
    return subjects


def make_hybrid(source: Path, dest: Path) -> None:
    """Rebuild ``source`` as a hybrid ISO (BIOS and UEFI, CD and disk) with the same volume label
    and files, its own menu edited as the module docstring says."""
    work = dest.with_name(f".{dest.name}.work")
    shutil.rmtree(work, ignore_errors=True)
    tree, scratch = work / "tree", work / "scratch"
    scratch.mkdir(parents=True)
    run(["xorriso", "-osirrox", "on", "-indev", source, "-extract", "/", tree], capture=True)
    for path in [tree, *tree.rglob("*")]:  # xorriso restores the ISO's read-only modes
        path.chmod(path.stat().st_mode | 0o200)
    with open_iso(source) as iso:
        label = iso.volume_id
    menus = [tree / m for m in MENUS if (tree / m).is_file()]
    for menu in menus:
        menu.write_text(serial_menu(menu.read_text()))
    prefix = "/" + menus[0].parent.relative_to(tree).as_posix()
    early = scratch / "early.cfg"
    # Both GRUBs look for the ISO by its label: on a disk written with dd it is the whole disk and
    # its first partition, on a CD the drive.
    early.write_text(f'search --no-floppy --label --set=root "{label}"\nset prefix=($root){prefix}\n')
    eltorito = tree / "boot/grub/i386-pc/eltorito.img"
    eltorito.parent.mkdir(parents=True, exist_ok=True)
    mkimage: list[Arg] = ["grub-mkimage", "-p", prefix, "-c", early]
    run([*mkimage, "-O", "i386-pc-eltorito", "-o", eltorito, "biosdisk", *_COMMON_MODULES])
    efi_binary = scratch / "BOOTX64.EFI"
    run([*mkimage, "-O", "x86_64-efi", "-o", efi_binary, "fat", "efi_gop", *_COMMON_MODULES])
    esp = _esp_image(efi_binary, scratch / "efi.img")
    staging = dest.with_name(f".{dest.name}.partial")
    xorriso: list[Arg] = ["xorriso", "-as", "mkisofs", "-quiet", "-r", "-J", "-joliet-long", "-V", label]
    xorriso += ["-o", staging, "-b", eltorito.relative_to(tree).as_posix(), "-no-emul-boot"]
    xorriso += ["-boot-load-size", "4", "-boot-info-table", "--grub2-boot-info"]
    xorriso += ["--grub2-mbr", GRUB_HYBRID_MBR, "-append_partition", "2", "0xef", esp]
    xorriso += ["-eltorito-alt-boot", "-e", "--interval:appended_partition_2:all::", "-no-emul-boot"]
    run([*xorriso, tree], capture=True)
    os.replace(staging, dest)
    shutil.rmtree(work)


def serial_menu(text: str) -> str:
    """The ISO's own menu with no timeout, on the serial port too, its kernels given KERNEL_ARGS
    and rid of the words that hide the console."""
    text = re.sub(r"^(\s*set\s+timeout)=\S+", r"\1=0", text, flags=re.MULTILINE)

    def kernel(match: re.Match[str]) -> str:
        words = [w for w in match.group(2).split() if w not in _QUIET]
        return match.group(1) + " ".join([*words, KERNEL_ARGS])

    text = re.sub(r"^(\s*linux(?:efi)?\s+)(.*)$", kernel, text, flags=re.MULTILINE)
    return SERIAL_LINES + text


def _esp_image(efi_binary: Path, image: Path) -> Path:
    """A FAT image holding /EFI/BOOT/BOOTX64.EFI: the EFI System partition of the hybrid ISO."""
    kib = max(2048, (efi_binary.stat().st_size * 3 // 2) // 1024)
    run(["mkfs.vfat", "-C", image, str(kib)], capture=True)
    run(["mmd", "-i", image, "::/EFI", "::/EFI/BOOT"])
    run(["mcopy", "-i", image, efi_binary, "::/EFI/BOOT/BOOTX64.EFI"])
    return image


def make_stick(image: Path, subjects: list[Subject]) -> None:
    """A sik stick as a user makes one, with the sik CLI of this checkout: install, the menu's
    options (the serial console and KERNEL_ARGS, no timeout), then add every subject's ISO."""
    image.unlink(missing_ok=True)
    sik = [PYTHON, "-m", "sik"]
    run([*sik, "install", "--image", image, "--size", "1G"], capture=True)
    options = ["--kernel-args", KERNEL_ARGS, "--serial", "--timeout", "0"]
    run([*sik, "generate", "--image", image, *options], capture=True)
    run([*sik, "add", "--image", image, *(s.iso for s in subjects)], capture=True)


def stick_filesystem(image: Path) -> str:
    """The sik stick's data filesystem as blkid names it (what `sik install` chose by default):
    the initramfs mounts it to reach the ISO file, so the figures hold for that filesystem."""
    layout = read_layout(image)
    return str(layout.data_fs) if layout.data_fs else "unknown"


def choose_entry(image: Path, subject: Subject) -> None:
    """Make ``subject`` the entry the stick boots next (`sik boot-once`, as the boot tests do)."""
    run([PYTHON, "-m", "sik", "boot-once", subject.iso.name, "--image", image], capture=True)
