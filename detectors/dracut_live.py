"""Live media booted by dracut's dmsquash-live module: Fedora live up to release 41, and the
RHEL family's live images (CentOS, Rocky, AlmaLinux).

Fingerprint: /LiveOS/squashfs.img with a kernel and initrd under /images/pxeboot (Fedora's
livemedia-creator layout) or /isolinux (older media).

Boot parameters, from dracut.cmdline(7) (Debian 12 dracut-core 059, section "Booting live
images") and the dmsquash-live module's iso-scan hook:
- ``root=live:CDLABEL=<label>`` names the live filesystem by its volume label, spelt as udev
  does under /dev/disk/by-label (``\\x20`` for a space);
- ``rd.live.image`` turns on the live-image root;
- ``iso-scan/filename=PATH`` makes the initramfs mount each partition until one holds PATH,
  loop-mount it, and then find the label on the loop device.
"""

from __future__ import annotations

from sik.detect import Detector
from sik.facts import arch_from_name, udev_label
from sik.iso import IsoView
from sik.model import BootMethod, Detection

_KERNEL_DIRS = ("images/pxeboot", "isolinux")


class DracutLive(Detector, name="dracut-live", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.exists("LiveOS/squashfs.img"):
            return None
        for directory in _KERNEL_DIRS:
            kernel = iso.first_existing(f"{directory}/vmlinuz")
            initrd = iso.first_existing(f"{directory}/initrd.img")
            if kernel and initrd:
                break
        else:
            return None
        label = iso.volume_id
        if not label:
            return None
        name, version = _name_and_version(label)
        return Detection(
            detector=self.name,
            method=BootMethod.dracut_live,
            distro=name.lower(),
            pretty_name=f"{name} live",
            version=version,
            arch=arch_from_name(label),
            kernel=kernel,
            initrds=(initrd,),
            cmdline=(
                f"root=live:CDLABEL={udev_label(label)}",
                "rd.live.image",
                "iso-scan/filename={iso}",
            ),
            grub_class=name.lower(),
            evidence=("/LiveOS/squashfs.img", str(kernel), str(initrd), f"volume label {label!r}"),
        )


def _name_and_version(label: str) -> tuple[str, str | None]:
    """'Fedora-WS-Live-40-1-14' -> ('Fedora', '40'): the first word, the first number."""
    parts = label.replace("_", "-").split("-")
    version = next((p for p in parts if p.isdigit()), None)
    return parts[0] or label, version
