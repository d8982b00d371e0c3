"""Wombat Linux, a made-up distribution: the worked example of sik's docs/writing-a-detector.md.

Fingerprint: /.disk/info names the release ("Wombat Linux 3.2 x86_64"), /wombat/ holds the
kernel (vmlinuz-<version>), its initrd (initrd-<version>.gz) and the root image wombat.sfs;
/wombat/edition names the flavour ("Garden", "Burrow").

Boot parameters, from the Wombat handbook, chapter "Booting from an ISO file" (imaginary, as a
real detector would cite its distribution's documentation here):
- ``wombat.iso=PATH``: the initrd searches every partition for PATH and loop-mounts it;
- ``wombat.root=/wombat/wombat.sfs``: the root image inside that ISO.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView, join, newest, read_disk_info


class Wombat(Detector, name="wombat", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        # Guard clauses first, cheapest question first: most ISOs stop here.
        if not iso.is_dir("wombat"):
            return None
        names = iso.listdir("wombat")
        kernel = newest(names, "vmlinuz")
        initrd = newest(names, "initrd")
        if "wombat.sfs" not in names or kernel is None or initrd is None:
            return None
        info = read_disk_info(iso)
        edition = (iso.read_text("wombat/edition", limit=256) or "").strip() or None
        return Detection(
            detector=self.name,
            method=BootMethod.linux,
            distro="wombat",
            pretty_name=info.name if info and info.name else "Wombat Linux",
            version=info.version if info else None,
            arch=info.arch if info else None,
            edition=edition,
            kernel=join("wombat", kernel),
            initrds=(join("wombat", initrd),),
            cmdline=("wombat.iso={iso}", "wombat.root=/wombat/wombat.sfs"),
            grub_class="wombat",
            evidence=("/wombat/wombat.sfs", f"/wombat/{kernel}", f"/wombat/{initrd}")
            + ((f".disk/info: {info.text}",) if info else ()),
        )
