"""The generic fallback: an ISO that carries /boot/grub/loopback.cfg says itself how to boot
from a file. The convention (documented by the supergrubdisk project and followed by Ubuntu,
Debian live, Arch, NixOS and others) is that GRUB sets ``root`` to the loop device and
exports ``iso_path``, the ISO's path on its partition, before ``configfile`` reads it.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView


class LoopbackCfg(Detector, name="loopback.cfg", priority=0):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.exists("boot/grub/loopback.cfg"):
            return None
        label = iso.volume_id
        return Detection(
            detector=self.name,
            method=BootMethod.loopback_cfg,
            distro="unknown",
            pretty_name=label or "ISO with loopback.cfg",
            grub_class="loopback",
            evidence=("/boot/grub/loopback.cfg",),
        )
