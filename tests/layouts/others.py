"""Families with an init of their own: Alpine, NixOS, Gentoo (dracut and genkernel), Slax,
Puppy, antiX / MX Linux, Proxmox VE, TrueNAS SCALE; and memtest86+ and the loopback.cfg
fallback. The initrds of the families sik shows a virtual CD hold what sik reads in them at
build time (their /init, hook folders, modules), written after their documentation."""

from __future__ import annotations

from tests.layouts import MODULE, Layout, bzimage, grub_entry, initrd, isolinux_entry

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


# Alpine's initramfs (mkinitfs): a busybox /init that runs nlplug-findfs to find the boot
# media; loop and squashfs are in it, dm-mod is not (it is in modloop-<flavour>).
_ALPINE_KERNEL = "6.12.4-0-lts"
_ALPINE_INIT = """#!/bin/sh
# (a shortened stand-in for mkinitfs' initramfs-init)
/bin/busybox --install -s
ebegin "Loading boot drivers"
modprobe -a loop squashfs
ebegin "Mounting boot media"
nlplug-findfs -p /sbin/mdev -b /tmp/repositories -a /tmp/apkovls
exec switch_root /sysroot /sbin/init
"""
_ALPINE_INITRD = {
    "init": _ALPINE_INIT,
    "bin/busybox": b"\x7fELF busybox",
    "sbin/nlplug-findfs": b"\x7fELF",
    f"lib/modules/{_ALPINE_KERNEL}/kernel/drivers/block/loop.ko.gz": MODULE,
    f"lib/modules/{_ALPINE_KERNEL}/kernel/fs/squashfs/squashfs.ko.gz": MODULE,
    f"lib/modules/{_ALPINE_KERNEL}/modules.dep": "kernel/drivers/block/loop.ko.gz:\n",
}
# Proxmox's installer initrd: a busybox /init that mounts whole disks only, as described for
# PVE 9.1 (https://osisa.github.io/NETSetup/docs/pve-init-iso-scanning.md).
_PVE_KERNEL = "6.8.12-4-pve"
_PVE_INIT = """#!/bin/sh
# (a shortened stand-in for the Proxmox installer's /init)
reqid=$(cat /.pve-cd-id.txt)
for try in $(seq 1 9); do
    for i in /sys/block/hd* /sys/block/sr* /sys/block/scd* /sys/block/sd* /sys/block/nvme*; do
        path="/dev/${i##*/}"
        mount -t iso9660 -o ro "$path" /mnt 2>/dev/null || continue
        [ "$(cat /mnt/.pve-cd-id.txt)" = "$reqid" ] && cdrom=$path && break 2
        umount /mnt
    done
    sleep 1
done
"""
_PVE_INITRD = {
    "init": _PVE_INIT,
    ".pve-cd-id.txt": "4a9b0c3e-8f1d-4b71-9a5e-0b3d2f1c7e55\n",
    "bin/busybox": b"\x7fELF busybox",
    f"lib/modules/{_PVE_KERNEL}/kernel/drivers/block/loop.ko": MODULE,
    f"lib/modules/{_PVE_KERNEL}/kernel/drivers/md/dm-mod.ko": MODULE,
    f"lib/modules/{_PVE_KERNEL}/kernel/fs/isofs/isofs.ko": MODULE,
}
# TrueNAS SCALE: Debian's live-boot on initramfs-tools (truenas/scale-build), its root copied
# to RAM; the installer then looks for TrueNAS-SCALE.update itself.
_TRUENAS_KERNEL = "6.6.44-production+truenas"
_TRUENAS_INITRD = {
    "init": "#!/bin/sh\n# (a stand-in for initramfs-tools' /init)\n. /scripts/functions\n",
    "scripts/functions": "# initramfs-tools' helpers\n",
    "scripts/live": "# live-boot's mountroot\n",
    "scripts/init-premount/ORDER": '/scripts/init-premount/blacklist "$@"\n'
    "[ -e /conf/param.conf ] && . /conf/param.conf\n",
    "scripts/init-premount/blacklist": "#!/bin/sh\n",
    "usr/sbin/losetup": b"\x7fELF losetup",
    f"usr/lib/modules/{_TRUENAS_KERNEL}/kernel/drivers/block/loop.ko": MODULE,
    f"usr/lib/modules/{_TRUENAS_KERNEL}/kernel/fs/isofs/isofs.ko": MODULE,
}
# scale-build's scripts/grub.cfg entry (its $vendor filled in), console variable and all.
_TRUENAS_GRUB = grub_entry(
    "Start TrueNAS SCALE Installation",
    "/vmlinuz",
    "/initrd.img",
    "gfxpayload=text quiet nomodeset boot=live toram=filesystem.squashfs $gfx_console",
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
            ".boot_repository": "",
            "boot/vmlinuz-lts": bzimage(_ALPINE_KERNEL),
            "boot/initramfs-lts": initrd(_ALPINE_INITRD, "gzip"),
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
            "boot/linux26": bzimage(_PVE_KERNEL),
            "boot/initrd.img": initrd(_PVE_INITRD, "zstd"),
            "boot/grub/grub.cfg": grub_entry(
                "Install Proxmox VE (Graphical)",
                "/boot/linux26",
                "/boot/initrd.img",
                "ro ramdisk_size=16777216 rw quiet splash=silent",
            ),
            "pve-base.squashfs": b"hsqs",
            "pve-installer.squashfs": b"hsqs",
        },
        "PVE",
    ),
    "truenas-scale-24.10.1": Layout(
        {
            "vmlinuz": bzimage(_TRUENAS_KERNEL),
            "initrd.img": initrd(_TRUENAS_INITRD, "zstd"),
            "live/filesystem.squashfs": b"hsqs",
            "TrueNAS-SCALE.update": b"hsqs",
            ".disk/info": "",
            "boot/grub/grub.cfg": _TRUENAS_GRUB,
            "EFI/debian/grub.cfg": _TRUENAS_GRUB,
        },
        # grub-mkrescue without -volid: xorriso's default volume id.
        "ISOIMAGE",
    ),
    "memtest86+-7.20": Layout(
        {"EFI/BOOT/bootx64.efi": b"MZ", "boot/floppy.img": b"\0" * 512}, "MT86PLUS_64"
    ),
    "loopback-cfg-other": Layout(
        {"boot/grub/loopback.cfg": "menuentry 'x' { linux /k }\n", "k": b"kernel"}, "OTHER_1"
    ),
}
