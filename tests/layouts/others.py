"""Families with an init of their own: Alpine, NixOS, Gentoo (dracut and genkernel), Slax,
Puppy, antiX / MX Linux, Proxmox VE; and memtest86+ and the loopback.cfg fallback."""

from __future__ import annotations

from tests.layouts import Layout, grub_entry, isolinux_entry

NIX_INIT = (
    "init=/nix/store/8mfzqp5q5mkg5dx5mcgcc7fbvbgrk6l3-nixos-system-nixos-24.11.710315.b681065d0919/init"
)


def _antix(label: str, title: str) -> Layout:
    return Layout(
        {
            "antiX/vmlinuz": b"kernel",
            "antiX/initrd.gz": b"initrd",
            "antiX/linuxfs": b"hsqs",
            "antiX/linuxfs.md5": "0 linuxfs\n",
            "boot/isolinux/isolinux.cfg": isolinux_entry(
                "live", title, "/antiX/vmlinuz", "quiet splasht disable=lxF initrd=/antiX/initrd.gz"
            ),
            "boot/grub/loopback.cfg": "source /boot/grub/grub.cfg\n",
        },
        label,
    )


def _puppy(sfs: str) -> Layout:
    return Layout(
        {
            "vmlinuz": b"kernel",
            "initrd.gz": b"initrd",
            sfs: b"hsqs",
            "fdrv_" + sfs.split("_", 1)[1]: b"hsqs",
            "isolinux.cfg": isolinux_entry(
                "puppy", "Start Puppy", "/vmlinuz", "initrd=/initrd.gz pmedia=cd"
            ),
        },
        "puppy",
    )


LAYOUTS = {
    "alpine-3.21.0-standard": Layout(
        {
            ".alpine-release": "alpine-standard-3.21.0-x86_64\n",
            "boot/vmlinuz-lts": b"kernel",
            "boot/initramfs-lts": b"initrd",
            "boot/modloop-lts": b"hsqs",
            "apks/x86_64/APKINDEX.tar.gz": b"\x1f\x8b",
            "boot/grub/grub.cfg": grub_entry(
                "Linux lts",
                "/boot/vmlinuz-lts",
                "/boot/initramfs-lts",
                "modules=loop,squashfs,sd-mod,usb-storage quiet",
            ),
        },
        "alpine-std 3.21.0 x86_64",
    ),
    "nixos-24.11-minimal": Layout(
        {
            "nix-store.squashfs": b"hsqs",
            "boot/bzImage": b"kernel",
            "boot/initrd": b"initrd",
            "version.txt": "24.11.710315.b681065d0919\n",
            "isolinux/isolinux.cfg": "DEFAULT boot\n"
            + isolinux_entry(
                "boot",
                "NixOS 24.11.710315.b681065d0919 Installer",
                "/boot/bzImage",
                f"{NIX_INIT} root=LABEL=nixos-minimal-24.11-x86_64 boot.shell_on_fail loglevel=4 "
                "initrd=/boot/initrd",
            ),
            "boot/grub/loopback.cfg": "source /EFI/boot/grub.cfg\n",
        },
        "nixos-minimal-24.11-x86_64",
    ),
    "gentoo-minimal-dracut": Layout(
        {
            "image.squashfs": b"hsqs",
            "boot/gentoo": b"kernel",
            "boot/gentoo.igz": b"initrd",
            "boot/grub/grub.cfg": grub_entry(
                "Boot LiveCD (kernel: gentoo)",
                "/boot/gentoo",
                "/boot/gentoo.igz",
                "root=live:CDLABEL=Gentoo-amd64-20241117 rd.live.dir=/ rd.live.squashimg=image.squashfs "
                "cdroot dokeymap",
            ),
            "livecd": "",
        },
        # gentoo/releng releases/specs/amd64/installcd-stage2-minimal.spec:
        # livecd/volid: Gentoo-amd64-@DATESTAMP@
        "Gentoo-amd64-20241117",
    ),
    "gentoo-minimal-genkernel": Layout(
        {
            "image.squashfs": b"hsqs",
            "isolinux/gentoo": b"kernel",
            "isolinux/gentoo.igz": b"initrd",
            "isolinux/isolinux.cfg": isolinux_entry(
                "gentoo",
                "Gentoo Linux amd64 minimal 20230101",
                "gentoo",
                "root=/dev/ram0 init=/linuxrc dokeymap looptype=squashfs loop=/image.squashfs cdroot "
                "initrd=gentoo.igz",
            ),
            "livecd": "",
        },
        "Gentoo amd64 20230101",
    ),
    "slax-12.1": Layout(
        {
            "slax/boot/vmlinuz": b"kernel",
            "slax/boot/initrfs.img": b"initrd",
            "slax/01-core.sb": b"hsqs",
            "slax/02-xorg.sb": b"hsqs",
            "slax/boot/syslinux.cfg": isolinux_entry(
                "default",
                "Run Slax 12.1.0 (Persistent changes)",
                "/slax/boot/vmlinuz",
                "vga=normal initrd=/slax/boot/initrfs.img load_ramdisk=1 prompt_ramdisk=0 rw "
                "printk.time=0 "
                "slax.flags=perch,automount",
            ),
        },
        "SLAX",
    ),
    "bookwormpup64-10.0.8": _puppy("puppy_dpupbw64_10.0.8.sfs"),
    "fossapup64-9.5": _puppy("puppy_fossapup64_9.5.sfs"),
    "antix-23.2-full": _antix("antiX-Live", "antiX-23.2_x64-full (10 November 2024)"),
    "mx-23.4-xfce": _antix("MX-Live", "MX-23.4_x64 Libretto (October 2024)"),
    "proxmox-ve-8.3": Layout(
        {
            ".disk/info": "RELEASE='8.3'\nISORELEASE='1'\nISONAME='proxmox-ve'\nPRODUCT='pve'\n"
            "PRODUCTLONG='Proxmox VE'\n",
            ".pve-cd-id.txt": "4a9b0c3e-8f1d-4b71-9a5e-0b3d2f1c7e55\n",
            "boot/linux26": b"kernel",
            "boot/initrd.img": b"initrd",
            "pve-base.squashfs": b"hsqs",
            "pve-installer.squashfs": b"hsqs",
        },
        "PVE",
    ),
    "memtest86+-7.20": Layout(
        {"EFI/BOOT/bootx64.efi": b"MZ", "boot/floppy.img": b"\0" * 512}, "MT86PLUS_64"
    ),
    "loopback-cfg-other": Layout(
        {"boot/grub/loopback.cfg": "menuentry 'x' { linux /k }\n", "k": b"kernel"}, "OTHER_1"
    ),
}
