"""dracut ISOs of the Fedora/RHEL family: Fedora live (<= 41), and anaconda installers of
Fedora, CentOS Stream, Rocky Linux, AlmaLinux and RHEL."""

from __future__ import annotations

from tests.layouts import Layout, grub_entry


def _fedora_live(label: str) -> Layout:
    args = f"root=live:CDLABEL={label} rd.live.image quiet rhgb"
    return Layout(
        {
            "LiveOS/squashfs.img": b"hsqs",
            "images/pxeboot/vmlinuz": b"kernel",
            "images/pxeboot/initrd.img": b"initrd",
            "EFI/BOOT/grub.cfg": grub_entry(
                "Start Fedora Live", "/images/pxeboot/vmlinuz", "/images/pxeboot/initrd.img", args
            ),
            "boot/grub2/grub.cfg": "set default=0\n",
        },
        label,
    )


def _treeinfo(name: str, short: str, version: str, variant: str) -> str:
    return (
        "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n"
        f"[release]\nname = {name}\nshort = {short}\nversion = {version}\n\n"
        f"[general]\nfamily = {name}\nversion = {version}\narch = x86_64\nplatforms = x86_64,xen\n"
        f"variant = {variant}\npackagedir = Packages\n\n"
        f"[tree]\narch = x86_64\nplatforms = x86_64,xen\nvariants = {variant}\n\n"
        f"[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n"
    )


def _installer(
    label: str, name: str, short: str, version: str, variant: str, *, stage2: str = "images/install.img"
) -> Layout:
    args = f"inst.stage2=hd:LABEL={label} quiet"
    return Layout(
        {
            ".treeinfo": _treeinfo(name, short, version, variant),
            ".discinfo": f"1700000000.0\n{name} {version}\nx86_64\n",
            stage2: b"hsqs",
            "images/pxeboot/vmlinuz": b"kernel",
            "images/pxeboot/initrd.img": b"initrd",
            "EFI/BOOT/grub.cfg": grub_entry(
                f"Install {name} {version}",
                "/images/pxeboot/vmlinuz",
                "/images/pxeboot/initrd.img",
                args,
            ),
        },
        label,
    )


LAYOUTS = {
    "fedora-41-workstation-live": _fedora_live("Fedora-WS-Live-41-1-4"),
    "fedora-40-kde-live": _fedora_live("Fedora-KDE-Live-40-1-14"),
    "fedora-41-everything-netinst": _installer(
        "Fedora-E-dvd-x86_64-41", "Fedora", "Fedora", "41", "Everything"
    ),
    "fedora-41-server-dvd": _installer("Fedora-S-dvd-x86_64-41", "Fedora", "Fedora", "41", "Server"),
    "fedora-28-server-netinst": _installer(
        "Fedora-S-dvd-x86_64-28", "Fedora", "Fedora", "28", "Server", stage2="LiveOS/squashfs.img"
    ),
    "centos-stream-9": _installer(
        "CentOS-Stream-9-BaseOS-x86_64", "CentOS Stream", "CentOS-Stream", "9", "BaseOS"
    ),
    "rocky-9.5-dvd": _installer("Rocky-9-5-x86_64-dvd", "Rocky Linux", "Rocky", "9.5", "BaseOS"),
    "almalinux-9.5-dvd": _installer(
        "AlmaLinux-9-5-x86_64-dvd", "AlmaLinux", "AlmaLinux", "9.5", "BaseOS"
    ),
    "rhel-9.5-dvd": _installer(
        "RHEL-9-5-0-BaseOS-x86_64", "Red Hat Enterprise Linux", "RHEL", "9.5", "BaseOS"
    ),
    "void-20240314": Layout(
        {
            "LiveOS/squashfs.img": b"hsqs",
            "boot/vmlinuz": b"kernel",
            "boot/initrd": b"initrd",
            "boot/grub/grub.cfg": grub_entry(
                "Void Linux 6.6.21_1 x86_64",
                "/boot/vmlinuz",
                "/boot/initrd",
                "root=live:CDLABEL=VOID_LIVE ro init=/sbin/init rd.luks=0 rd.md=0 rd.dm=0 loglevel=4",
            ),
        },
        "VOID_LIVE",
    ),
}
