"""casper ISOs: Ubuntu desktop and server, the official flavours, Mint, Pop!_OS, elementary
OS and Zorin OS."""

from __future__ import annotations

from tests.layouts import MODULE, Layout, bzimage, grub_entry, initrd, isolinux_entry

_SQUASH = b"hsqs"


def _ubuntu(
    info: str,
    label: str,
    squashfs: tuple[str, ...] = ("filesystem.squashfs",),
    kernel: str = "vmlinuz",
    initrd: str = "initrd",
) -> Layout:
    """Ubuntu 18.04 and later: /casper/vmlinuz + /casper/initrd (16.04: vmlinuz.efi and
    initrd.lz), a grub.cfg without boot=casper, a loopback.cfg that adds iso-scan/filename."""
    menu = grub_entry(
        "Try or Install Ubuntu", f"/casper/{kernel}", f"/casper/{initrd}", "--- quiet splash"
    )
    loop = grub_entry(
        "Try or Install Ubuntu",
        f"/casper/{kernel}",
        f"/casper/{initrd}",
        "iso-scan/filename=${iso_path} --- quiet splash",
    )
    files: dict[str, bytes | str] = {
        f"casper/{kernel}": b"kernel",
        f"casper/{initrd}": b"initrd",
        "casper/filesystem.manifest": "casper 1.498\n",
        ".disk/info": info,
        ".disk/casper-uuid-generic": "0f1e2d3c\n",
        "boot/grub/grub.cfg": "set timeout=30\n" + menu,
        "boot/grub/loopback.cfg": loop,
        "EFI/boot/bootx64.efi": b"MZ",
    }
    files.update({f"casper/{name}": _SQUASH for name in squashfs})
    return Layout(files, label)


def _mint(version: str, codename: str, edition: str, date: str, label: str | None = None) -> Layout:
    title = f"Start Linux Mint {version} {edition} 64-bit"
    args = "file=/cdrom/preseed/linuxmint.seed boot=casper quiet splash --"
    return Layout(
        {
            "casper/vmlinuz": b"kernel",
            "casper/initrd.lz": b"initrd",
            "casper/filesystem.squashfs": _SQUASH,
            "preseed/linuxmint.seed": "d-i debian-installer/locale string en_US\n",
            ".disk/info": f'Linux Mint {version} "{codename}" - Release amd64 {date}\n',
            "isolinux/isolinux.cfg": "default vesamenu.c32\n"
            + isolinux_entry("live", title, "/casper/vmlinuz", f"{args} initrd=/casper/initrd.lz"),
            "boot/grub/grub.cfg": grub_entry(title, "/casper/vmlinuz", "/casper/initrd.lz", args),
        },
        f"Linux Mint {version} {edition} 64-bit" if label is None else label,
    )


# An initramfs-tools initrd with casper but without casper's iso-scan (Pop!_OS before late
# 2025): what sik reads to show it a virtual CD.
_POP_KERNEL = "6.9.3-76060903-generic"
_POP_INITRD = {
    "init": "#!/bin/sh\n# (a stand-in for initramfs-tools' /init)\n. /scripts/functions\n",
    "scripts/functions": "# initramfs-tools' helpers\n",
    "scripts/casper": "# casper's mountroot\n",
    "scripts/casper-premount/10driver_updates": "#!/bin/sh\n",
    "usr/sbin/losetup": b"\x7fELF losetup",
    f"usr/lib/modules/{_POP_KERNEL}/kernel/drivers/block/loop.ko": MODULE,
    f"usr/lib/modules/{_POP_KERNEL}/kernel/fs/isofs/isofs.ko": MODULE,
}


def _pop(version: str, variant: str, date: str, *, loopback: bool) -> Layout:
    directory = f"casper_pop-os_{version}_amd64_{variant}_debug_{date[-3:]}"
    codename = "Jammy Jellyfish" if version == "22.04" else "Noble Numbat"
    files: dict[str, bytes | str] = {
        f"{directory}/vmlinuz.efi": bzimage(_POP_KERNEL) if not loopback else b"kernel",
        f"{directory}/initrd.gz": initrd(_POP_INITRD, "gzip") if not loopback else b"initrd",
        f"{directory}/filesystem.squashfs": _SQUASH,
        ".disk/info": f'Pop_OS {version} "{codename}" - Release amd64 ({date})\n',
        "loader/entries/Pop_OS-current.conf": f"title Pop!_OS {version}\n"
        f"linux /{directory}/vmlinuz.efi\n"
        f"initrd /{directory}/initrd.gz\noptions boot=casper live-media-path=/{directory} quiet\n",
        "EFI/BOOT/BOOTX64.EFI": b"MZ",
    }
    if loopback:
        args = f"boot=casper live-media-path=/{directory} iso-scan/filename=${{iso_path}} quiet splash"
        entry = grub_entry(
            f"Pop!_OS {version}", f"/{directory}/vmlinuz.efi", f"/{directory}/initrd.gz", args
        )
        files["boot/grub/grub.cfg"] = entry
        files["boot/grub/loopback.cfg"] = "source /boot/grub/grub.cfg\n"
    return Layout(files, f"Pop_OS {version} amd64 {variant.capitalize()}")


LAYOUTS = {
    "ubuntu-24.04.1-desktop": _ubuntu(
        'Ubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)\n',
        "Ubuntu 24.04.1 LTS amd64",
        ("minimal.squashfs", "minimal.standard.squashfs", "minimal.standard.live.squashfs"),
    ),
    "ubuntu-22.04.5-desktop": _ubuntu(
        'Ubuntu 22.04.5 LTS "Jammy Jellyfish" - Release amd64 (20240911)\n', "Ubuntu 22.04.5 LTS amd64"
    ),
    "ubuntu-24.04.1-server": _ubuntu(
        'Ubuntu-Server 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)\n',
        "Ubuntu-Server 24.04.1 LTS amd64",
        ("ubuntu-server-minimal.squashfs", "ubuntu-server-minimal.ubuntu-server.squashfs"),
    ),
    "ubuntu-16.04.7-desktop": _ubuntu(
        'Ubuntu 16.04.7 LTS "Xenial Xerus" - Release amd64 (20200810)\n',
        "Ubuntu 16.04.7 LTS amd64",
        kernel="vmlinuz.efi",
        initrd="initrd.lz",
    ),
    "ubuntu-24.10-desktop": _ubuntu(
        'Ubuntu 24.10 "Oracular Oriole" - Release amd64 (20241009)\n',
        "Ubuntu 24.10 amd64",
        ("minimal.squashfs", "minimal.standard.live.squashfs"),
    ),
    "kubuntu-24.04.1": _ubuntu(
        'Kubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)\n', "Kubuntu 24.04.1 LTS amd64"
    ),
    "xubuntu-24.04.1": _ubuntu(
        'Xubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)\n', "Xubuntu 24.04.1 LTS amd64"
    ),
    "lubuntu-24.04.1": _ubuntu(
        'Lubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)\n', "Lubuntu 24.04.1 LTS amd64"
    ),
    "ubuntu-mate-24.04.1": _ubuntu(
        'Ubuntu-MATE 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)\n',
        "Ubuntu-MATE 24.04.1 LTS amd64",
    ),
    "mint-22-cinnamon": _mint("22", "Wilma", "Cinnamon", "20240728"),
    "mint-22-xfce": _mint("22", "Wilma", "Xfce", "20240728"),
    "mint-21.3-mate": _mint("21.3", "Virginia", "MATE", "20240114"),
    # The label format is unverified: with a label naming no edition, the menu titles do.
    "mint-22.1-cinnamon-plain-label": _mint("22.1", "Xia", "Cinnamon", "20250109", "LINUXMINT"),
    "pop-22.04-intel-old": _pop("22.04", "intel", "20240514", loopback=False),
    "pop-24.04-nvidia": _pop("24.04", "nvidia", "20251211", loopback=True),
    "elementary-8.0": Layout(
        {
            "casper/vmlinuz": b"kernel",
            "casper/initrd.lz": b"initrd",
            "casper/filesystem.squashfs": _SQUASH,
            # elementary/os etc/config/includes.binary/.disk/info, filled by etc/auto/config.
            ".disk/info": 'elementary OS 8.0 "Circe" - stable amd64 (20241122)\n',
            "boot/grub/grub.cfg": grub_entry(
                "Try or Install elementary OS",
                "/casper/vmlinuz",
                "/casper/initrd.lz",
                "boot=casper quiet splash ---",
            ),
            "boot/grub/loopback.cfg": "source /boot/grub/grub.cfg\n",
        },
        "elementary OS",  # elementary/os etc/auto/config: --iso-volume "$NAME"
    ),
    # Zorin OS 16's initrd is casper/initrd.lz4 (hakuna-m/wubiuefi#287).
    "zorin-16.3-core": Layout(
        {
            "casper/vmlinuz": b"kernel",
            "casper/initrd.lz4": b"initrd",
            "casper/filesystem.squashfs": _SQUASH,
            ".disk/info": 'Zorin OS 16.3 Core 64-bit "Focal" - Release amd64 (20230712)\n',
            "boot/grub/grub.cfg": grub_entry(
                "Try or Install Zorin OS",
                "/casper/vmlinuz",
                "/casper/initrd.lz4",
                "boot=casper quiet splash ---",
            ),
        },
        "Zorin OS 16.3 Core 64bit",
    ),
    "zorin-17.2-core": Layout(
        {
            "casper/vmlinuz": b"kernel",
            "casper/initrd.lz": b"initrd",
            "casper/filesystem.squashfs": _SQUASH,
            ".disk/info": 'Zorin OS 17.2 Core 64-bit "Jammy" - Release amd64 (20240829)\n',
            "boot/grub/grub.cfg": grub_entry(
                "Try or Install Zorin OS",
                "/casper/vmlinuz",
                "/casper/initrd.lz",
                "boot=casper quiet splash ---",
            ),
            "boot/grub/loopback.cfg": grub_entry(
                "Try or Install Zorin OS",
                "/casper/vmlinuz",
                "/casper/initrd.lz",
                "boot=casper iso-scan/filename=${iso_path} quiet splash ---",
            ),
        },
        "Zorin OS 17.2 Core 64bit",
    ),
}
