"""TrueNAS SCALE installer ISOs, booted as a virtual CD.

Fingerprint (truenas/scale-build, scale_build/image/iso.py, make_iso_file): /vmlinuz and
/initrd.img at the root (dereferenced "so this ISO can be re-written to a FAT32 USB stick"),
/live/filesystem.squashfs, /TrueNAS-SCALE.update (the system image the installer copies),
an empty /.disk/info, and GRUB menus in /boot/grub/grub.cfg and /EFI/debian/grub.cfg. The ISO
is made by grub-mkrescue without a volume id, so xorriso's default label "ISOIMAGE"; nothing
on the ISO names the version outside the squashfs images, so the title has none.

Boot parameters (scripts/grub.cfg of scale-build): ``gfxpayload=text quiet nomodeset
boot=live toram=filesystem.squashfs`` plus a console variable: Debian's live-boot, with its
root copied to RAM.

Why not from its file: live-boot would find the ISO file (findiso=), but the installer does
not trust that: after boot, mount-cd.service (conf/cd-files/sbin/mount-cd) looks for
TrueNAS-SCALE.update on whole disks and their partitions, leaving out loop, ram, dm- and fd
devices, and mounts it on /cdrom. So sik shows the ISO as a virtual CD, named by live-boot's
``live-media=``, mounts that device on /cdrom in the booted root itself and masks
mount-cd.service. Checked against documentation only: no TrueNAS ISO boots here.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from sik.api import BootMethod, Detection, Detector, IsoView, read_menu

_MENUS = ("boot/grub/grub.cfg", "EFI/debian/grub.cfg")
_DEFAULT_ARGS = ("gfxpayload=text", "quiet", "nomodeset", "boot=live", "toram=filesystem.squashfs")


class TrueNasScale(Detector, name="truenas-scale", priority=55):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.exists("TrueNAS-SCALE.update") or not iso.exists("live/filesystem.squashfs"):
            return None
        kernel = iso.first_existing("vmlinuz")
        initrd = iso.first_existing("initrd.img")
        if kernel is None or initrd is None:
            return None
        own = next((item.args for item in read_menu(iso, *_MENUS) if item.args), ())
        # "$gfx_console" and the like are GRUB variables of its own menu.
        args = tuple(a for a in own if not a.startswith("$")) or _DEFAULT_ARGS
        return Detection(
            detector=self.name,
            method=BootMethod.live_boot,
            distro="truenas",
            pretty_name="TrueNAS SCALE",
            arch="amd64",
            kernel=kernel,
            initrds=(initrd,),
            cmdline=args,
            grub_class="truenas",
            evidence=("/TrueNAS-SCALE.update", "/live/filesystem.squashfs", str(kernel), str(initrd)),
            edition="installer",
            blocker=(
                "TrueNAS SCALE's installer looks for its CD on whole disks after boot, not in a file"
            ),
            cd_mount=PurePosixPath("/cdrom"),
            cd_units=("mount-cd.service",),
        )
