"""Debian live media and their derivatives booted by live-boot.

Fingerprint: a /live directory holding a squashfs root plus a kernel and initrd
(Debian 12 names them vmlinuz-<kver>/initrd.img-<kver>; older media and derivatives use
plain vmlinuz/initrd.img).

Boot parameters, from live-boot(7) as shipped in Debian 12's live-boot-doc:
- ``boot=live`` selects live-boot's scripts in the initramfs;
- ``components`` runs live-config in the booted system, as Debian's own menus do;
- ``findiso=PATH`` makes live-boot mount every partition it can until one holds PATH, then
  loop-mount that ISO as the live medium (``fromiso=`` would need the block device too).
"""

from __future__ import annotations

from sik.detect import Detector
from sik.facts import join, newest, read_disk_info
from sik.iso import IsoView
from sik.model import BootMethod, Detection


class DebianLive(Detector, name="debian-live", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.is_dir("live"):
            return None
        names = iso.listdir("live")
        if not any(n.endswith(".squashfs") for n in names):
            return None
        kernel = newest(names, "vmlinuz")
        initrd = newest(names, "initrd.img") or newest(names, "initrd")
        if kernel is None or initrd is None:
            return None
        info = read_disk_info(iso)
        return Detection(
            detector=self.name,
            method=BootMethod.live_boot,
            distro="debian",
            pretty_name=(info.name if info and info.name else "Debian live"),
            version=info.version if info else None,
            arch=info.arch if info else None,
            kernel=join("live", kernel),
            initrds=(join("live", initrd),),
            cmdline=("boot=live", "components", "findiso={iso}"),
            grub_class="debian",
            evidence=("/live/ holds a .squashfs", f"/live/{kernel}", f"/live/{initrd}")
            + ((f".disk/info: {info.text}",) if info else ()),
        )
