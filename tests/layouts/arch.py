"""archiso and miso ISOs: Arch Linux across its kernel/microcode layouts, EndeavourOS,
SystemRescue and Manjaro."""

from __future__ import annotations

from tests.layouts import Layout, grub_entry


def _arch(
    label: str, version: str, kernel: str, initrd: str, *, ucode: bool, title: str = "Arch Linux"
) -> Layout:
    files: dict[str, bytes | str] = {
        f"arch/boot/x86_64/{kernel}": b"kernel",
        f"arch/boot/x86_64/{initrd}": b"initrd",
        "arch/x86_64/airootfs.sfs": b"hsqs",
        "arch/version": version + "\n",
        "arch/pkglist.x86_64.txt": "linux 6.11.6.arch1-1\n",
        "loader/entries/01-archiso-x86_64-linux.conf": f"title {title} install medium\n",
        "boot/grub/grub.cfg": grub_entry(
            f"{title} install medium (x86_64, UEFI)",
            f"/arch/boot/x86_64/{kernel}",
            f"/arch/boot/x86_64/{initrd}",
            f"archisobasedir=arch archisolabel={label}",
        ),
        "boot/grub/loopback.cfg": "search --fs-uuid --set=archiso_img_dev\n",
    }
    if ucode:
        files["arch/boot/intel-ucode.img"] = b"ucode"
        files["arch/boot/amd-ucode.img"] = b"ucode"
    return Layout(files, label)


LAYOUTS = {
    "arch-2024.11.01": _arch(
        "ARCH_202411", "2024.11.01", "vmlinuz-linux", "initramfs-linux.img", ucode=False
    ),
    "arch-2023.01.01": _arch(
        "ARCH_202301", "2023.01.01", "vmlinuz-linux", "initramfs-linux.img", ucode=True
    ),
    "arch-2020.01.01": _arch("ARCH_202001", "2020.01.01", "vmlinuz", "archiso.img", ucode=True),
    "endeavouros-2024.09.22": _arch(
        "EOS_202409",
        "2024.09.22",
        "vmlinuz-linux",
        "initramfs-linux.img",
        ucode=True,
        title="EndeavourOS",
    ),
    "systemrescue-11.03": Layout(
        {
            "sysresccd/boot/x86_64/vmlinuz": b"kernel",
            "sysresccd/boot/x86_64/sysresccd.img": b"initrd",
            "sysresccd/boot/intel_ucode.img": b"ucode",
            "sysresccd/boot/amd_ucode.img": b"ucode",
            "sysresccd/x86_64/airootfs.sfs": b"hsqs",
            "sysresccd/pkglist.x86_64.txt": "linux-lts 6.6.58-1\n",
            "boot/grub/grub.cfg": grub_entry(
                "Boot SystemRescue using default options",
                "/sysresccd/boot/x86_64/vmlinuz",
                "/sysresccd/boot/x86_64/sysresccd.img",
                "archisobasedir=sysresccd archisolabel=RESCUE1103 iomem=relaxed",
            ),
            "boot/grub/loopback.cfg": "source /boot/grub/grub.cfg\n",
        },
        "RESCUE1103",
    ),
    "manjaro-kde-24.2.1": Layout(
        {
            "boot/vmlinuz-x86_64": b"kernel",
            "boot/initramfs-x86_64.img": b"initrd",
            "boot/intel_ucode.img": b"ucode",
            "boot/amd_ucode.img": b"ucode",
            "manjaro/x86_64/rootfs.sfs": b"hsqs",
            "manjaro/x86_64/desktopfs.sfs": b"hsqs",
            ".miso": "",
            "boot/grub/loopback.cfg": "source /boot/grub/grub.cfg\n",
        },
        "MANJARO_KDE_2421",
    ),
    "manjaro-gnome-minimal-20.0.1": Layout(
        {
            "boot/vmlinuz-x86_64": b"kernel",
            "boot/initramfs-x86_64.img": b"initrd",
            "manjaro/x86_64/rootfs.sfs": b"hsqs",
            "boot/grub/kernels.cfg": "misobasedir=manjaro misolabel=MANJARO_GNOMEM_2001\n",
        },
        "MANJARO_GNOMEM_2001",
    ),
}
