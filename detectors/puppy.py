"""Puppy Linux ISOs (BookwormPup, FossaPup, ...), booted from the ISO file.

Fingerprint: the kernel and initrd at the root (/vmlinuz, /initrd.gz) next to Puppy's
squashfs layers /puppy_<name>_<version>.sfs (plus adrv_, fdrv_, zdrv_ layers).

Boot parameters: woof-CE's initrd has booted from an ISO file since November 2019
(puppylinux-woof-CE/woof-CE, initrd-progs/0initrd/sbin/isoboot, "support booting from ISO",
issue #1672): ``findiso=PATH`` (also find_iso=, isoloop=, img_loop=, iso-scan/filename=)
makes its init mount each partition its kernel can read until one holds PATH, then attach
the ISO with losetup. The ISO's own menu parameters (``pmedia=cd``) come first. Puppies
built before then (BionicPup 8.0 and older) lack /sbin/isoboot and will not find it. Puppy's
partition search skips loop and dm devices (etc/rc.d/functions_x, fx_drv_is_ok), so a
virtual CD would not help it. Checked against documentation only: no Puppy ISO boots here.

Not verified against a real ISO (2026-11): the puppy_*.sfs naming and the "puppy" label come
from the reference notes; detection keys on the files only.
"""

from __future__ import annotations

import re

from sik.api import BootMethod, Detection, Detector, IsoView, read_menu

_MENUS = ("isolinux.cfg", "boot/grub/grub.cfg", "grub.cfg")
_MAIN_SFS = re.compile(r"^puppy_([a-z0-9]+?)(64)?_(\d+(?:\.\d+)*)\.sfs$", re.IGNORECASE)


class Puppy(Detector, name="puppy", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        layers = [m for m in map(_MAIN_SFS.match, iso.listdir("/")) if m]
        kernel = iso.first_existing("vmlinuz")
        if not layers or kernel is None:
            return None
        layer = layers[0]
        own = next((item.args for item in read_menu(iso, *_MENUS) if item.args), ())
        args = tuple(a for a in own if not a.startswith("initrd="))
        return Detection(
            detector=self.name,
            method=BootMethod.puppy,
            distro="puppy",
            pretty_name="Puppy Linux",
            version=layer.group(3),
            arch="x86_64" if layer.group(2) else None,
            kernel=kernel,
            initrds=tuple(p for p in (iso.first_existing("initrd.gz"),) if p),
            cmdline=(*args, "findiso={iso}"),
            grub_class="puppy",
            evidence=(f"/{layer.group(0)}", str(kernel)),
            edition=layer.group(1),
        )
