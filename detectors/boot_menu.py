"""The last fallback: an ISO no other detector knows, booted the way its own boot menu boots it
from a CD. Its first menu entry (GRUB's grub.cfg, else isolinux/syslinux) names the kernel,
the initrds and the parameters; nothing says how its initramfs could find an ISO file, so the
detection carries a blocker and sik's medium ladder (sik/menu/medium.py) shows the initramfs
the ISO as a CD instead: a loop or device-mapper device carrying the ISO's own label, set up
by sik's wrapper before the ISO's own /init, which sik first checks (at build time, in the
ISO's initrd) is a shell script. An initramfs that looks for its medium by label on every
block device finds it there; one that looks elsewhere is beyond what sik can know.

Below the loopback.cfg fallback and the GRUB-image detector: an ISO that ships its own
loop-boot menu or is a GRUB image says better how it boots.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView, read_menu

_MENUS = (
    "boot/grub/grub.cfg",
    "EFI/BOOT/grub.cfg",
    "boot/grub2/grub.cfg",
    "isolinux/isolinux.cfg",
    "isolinux/txt.cfg",
    "syslinux/syslinux.cfg",
    "isolinux.cfg",
    "syslinux.cfg",
)
# Parameters a menu passes that only make sense to its own loader.
_LOADER_ONLY = ("initrd=", "BOOT_IMAGE=")


class BootMenu(Detector, name="boot-menu", priority=-20):
    def probe(self, iso: IsoView) -> Detection | None:
        for item in read_menu(iso, *_MENUS):
            if not item.kernel or not item.initrds:
                continue
            kernel = iso.first_existing(item.kernel)
            initrds = tuple(iso.first_existing(i) for i in item.initrds)
            if kernel is None or None in initrds:
                continue
            label = iso.volume_id
            return Detection(
                detector=self.name,
                method=BootMethod.linux,
                distro="unknown",
                pretty_name=label or item.title or "Unknown live system",
                kernel=kernel,
                initrds=tuple(i for i in initrds if i is not None),
                cmdline=tuple(a for a in item.args if not a.startswith(_LOADER_ONLY)),
                grub_class="linux",
                evidence=(f"boot menu entry {item.title!r}", str(kernel)),
                blocker=(
                    "no detector knows how its initramfs finds its medium, so it gets no ISO-file "
                    "parameter"
                ),
            )
        return None
