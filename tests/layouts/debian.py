"""live-boot ISOs (Debian live, Kali, Tails, GParted Live, Clonezilla Live, LMDE) and
Debian-installer ISOs (netinst, DVD, Kali's installer)."""

from __future__ import annotations

from tests.layouts import MODULE, Layout, bzimage, grub_entry, initrd, isolinux_entry, udeb

_SQUASH = b"hsqs"


def _debian_live(version: str, codename: str, kver: str, desktop: str, date: str) -> Layout:
    args = "boot=live components quiet splash findiso=${iso_path}"
    return Layout(
        {
            f"live/vmlinuz-{kver}": b"kernel",
            f"live/initrd.img-{kver}": b"initrd",
            "live/filesystem.squashfs": _SQUASH,
            "live/filesystem.packages": "live-boot\t1:20230131+deb12u1\n",
            ".disk/info": f'Debian GNU/Linux {version} "{codename}" - Official amd64 LIVE Binary '
            f"{date}\n",
            ".disk/cd_type": "live\n",
            "boot/grub/grub.cfg": grub_entry(
                f"Live system ({desktop})", f"/live/vmlinuz-{kver}", f"/live/initrd.img-{kver}", args
            ),
            "boot/grub/loopback.cfg": "source /boot/grub/grub.cfg\n",
            "install/gtk/vmlinuz": b"d-i kernel",
            "install/gtk/initrd.gz": b"d-i initrd",
        },
        f"d-live {version} {desktop} amd64",
    )


# The cdrom initrd of a Debian 12 installer ISO: a busybox /init, and di-utils' list-devices,
# which cdrom-detect asks for CD devices (its first test is the line sik's patch anchors on,
# as in di-utils 1.146). No loop module: the ISO carries it in a udeb of /pool.
_DI_KERNEL = "6.1.0-37-amd64"
_LIST_DEVICES = """#! /bin/sh
set -e
TYPE="$1"
# (a shortened stand-in for di-utils' bin/list-devices)
if [ ! -d /sys/block ]; then
\texit 0
fi
for x in /sys/block/*; do
\t[ -d "$x" ] && echo "/dev/${x##*/}"
done
"""
_DI_INITRD = {
    "init": "#!/bin/sh -e\n# (a stand-in for the installer's /init)\nexec /sbin/init\n",
    "bin/busybox": b"\x7fELF busybox",
    "bin/list-devices": _LIST_DEVICES,
    "var/lib/dpkg/info/cdrom-detect.postinst": "#! /bin/sh\n",
    f"lib/modules/{_DI_KERNEL}/kernel/fs/isofs/isofs.ko": MODULE,
}
_LOOP_UDEB = (
    f"pool/main/l/linux-signed-amd64/loop-modules-{_DI_KERNEL}-di_6.1.140-1_amd64.udeb",
    udeb({f"lib/modules/{_DI_KERNEL}/kernel/drivers/block/loop.ko": MODULE}),
)


def _installer(info: str, label: str, arch_dir: str = "install.amd") -> Layout:
    return Layout(
        {
            f"{arch_dir}/vmlinuz": bzimage(_DI_KERNEL),
            f"{arch_dir}/initrd.gz": initrd(_DI_INITRD, "gzip"),
            _LOOP_UDEB[0]: _LOOP_UDEB[1],
            f"{arch_dir}/gtk/vmlinuz": b"kernel",
            f"{arch_dir}/gtk/initrd.gz": b"initrd",
            ".disk/info": info,
            ".disk/base_installable": "",
            "dists/stable/Release": "Suite: stable\n",
            "pool/main/b/base-files/base-files_12.4_amd64.deb": b"!<arch>",
            "isolinux/txt.cfg": isolinux_entry(
                "install",
                "^Install",
                f"/{arch_dir}/vmlinuz",
                f"vga=788 initrd=/{arch_dir}/initrd.gz --- quiet",
            ),
        },
        label,
    )


_TAILS_APPEND = (
    "initrd=/live/initrd.img boot=live config live-media=removable nopersistence noprompt "
    "timezone=Etc/UTC splash noautologin module=Tails slab_nomerge slub_debug=FZ mce=0 "
    "vsyscall=none init_on_free=1 mds=full,nosmt page_alloc.shuffle=1 randomize_kstack_offset=on quiet"
)

LAYOUTS = {
    "debian-live-12.11-gnome": _debian_live(
        "12.11.0", "Bookworm", "6.1.0-37-amd64", "gn", "20250517-09:52"
    ),
    "debian-live-13.0-kde": _debian_live(
        "13.0.0", "Trixie", "6.12.38+deb13-amd64", "kd", "20250809-11:21"
    ),
    "debian-12.11-netinst": _installer(
        'Debian GNU/Linux 12.11.0 "Bookworm" - Official amd64 NETINST with firmware 20250517-09:51\n',
        "Debian 12.11.0 amd64 n",
    ),
    "debian-12.11-dvd": _installer(
        'Debian GNU/Linux 12.11.0 "Bookworm" - Official amd64 DVD Binary-1 with firmware '
        "20250517-09:52\n",
        "Debian 12.11.0 amd64 1",
    ),
    "kali-2024.3-installer": _installer(
        'Kali GNU/Linux 2024.3 "Kali-last-snapshot" - Official amd64 NETINST 20240819-11:51\n',
        "Kali Linux amd64 n",
    ),
    "kali-2024.3-live": Layout(
        {
            "live/vmlinuz": b"kernel",
            "live/initrd.img": b"initrd",
            "live/filesystem.squashfs": _SQUASH,
            ".disk/info": 'Kali GNU/Linux 2024.3 "Kali-last-snapshot" - Official amd64 LIVE Binary '
            "20240819-11:56\n",
            "boot/grub/grub.cfg": grub_entry(
                "Live system (amd64)",
                "/live/vmlinuz",
                "/live/initrd.img",
                "boot=live components quiet splash noeject",
            ),
            "boot/grub/loopback.cfg": "source /boot/grub/grub.cfg\n",
        },
        "Kali Live",
    ),
    # As Debian 12's live-build writes .disk/info (binary_disk): the title is always
    # "Debian GNU/Linux"; only the codename says Kali. Label from Kali's auto/config.
    "kali-2024.4-live-lb": Layout(
        {
            "live/vmlinuz": b"kernel",
            "live/initrd.img": b"initrd",
            "live/filesystem.squashfs": _SQUASH,
            ".disk/info": 'Debian GNU/Linux 2024.4 "Kali-rolling" - Official Snapshot amd64 '
            "LIVE/INSTALL Binary 20241216-10:31\n",
            ".disk/cd_type": "live\n",
        },
        "Kali Live",
    ),
    "tails-6.10": Layout(
        {
            "live/vmlinuz": b"kernel",
            "live/initrd.img": b"initrd",
            "live/filesystem.squashfs": _SQUASH,
            "live/Tails.module": "filesystem.squashfs\n",
            "isolinux/live64.cfg": isolinux_entry("live", "Tails", "/live/vmlinuz", _TAILS_APPEND),
            "EFI/debian/grub.cfg": "set timeout=4\n",
        },
        "TAILS 6.10 - 20241217",
    ),
    "gparted-1.6.0-10": Layout(
        {
            "live/vmlinuz": b"kernel",
            "live/initrd.img": b"initrd",
            "live/filesystem.squashfs": _SQUASH,
            "GParted-Live-Version": "gparted-live-1.6.0-10-amd64\n",
            "syslinux/isolinux.cfg": isolinux_entry(
                "GParted Live",
                "GParted Live (Default settings)",
                "/live/vmlinuz",
                "boot=live union=overlay",
            ),
        },
        "GParted-live",
    ),
    "clonezilla-3.2.0-5": Layout(
        {
            "live/vmlinuz": b"kernel",
            "live/initrd.img": b"initrd",
            "live/filesystem.squashfs": _SQUASH,
            "Clonezilla-Live-Version": "clonezilla-live-3.2.0-5-amd64\n",
            "syslinux/isolinux.cfg": isolinux_entry(
                "Clonezilla live",
                "Clonezilla live (VGA 800x600)",
                "/live/vmlinuz",
                "boot=live union=overlay",
            ),
        },
        "Clonezilla live",
    ),
    "lmde-6": Layout(
        {
            "casper/vmlinuz": b"kernel",
            "casper/initrd.lz": b"initrd",
            "casper/filesystem.squashfs": _SQUASH,
            ".disk/info": 'LMDE 6 "Faye" - Release amd64 20230927\n',
            "boot/grub/grub.cfg": grub_entry(
                "Start LMDE 6 64-bit",
                "/casper/vmlinuz",
                "/casper/initrd.lz",
                "boot=live live-media-path=/casper quiet splash --",
            ),
            "boot/grub/loopback.cfg": "source /boot/grub/grub.cfg\n",
        },
        "LMDE 6 Cinnamon 64-bit",
    ),
    "lmde-5": Layout(
        {
            "live/vmlinuz": b"kernel",
            "live/initrd.lz": b"initrd",
            "live/filesystem.squashfs": _SQUASH,
            ".disk/info": 'LMDE 5 "Elsie" - Release amd64 20220316\n',
            "isolinux/isolinux.cfg": isolinux_entry(
                "live",
                "Start LMDE 5 64-bit",
                "/live/vmlinuz",
                "boot=live initrd=/live/initrd.lz quiet splash --",
            ),
        },
        "LMDE 5 Cinnamon 64-bit",
    ),
}
