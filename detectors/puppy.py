"""Puppy Linux ISOs (BookwormPup, FossaPup, ...): recognised, but given no entry.

Fingerprint: the kernel and initrd at the root (/vmlinuz, /initrd.gz) next to Puppy's
squashfs layers /puppy_<name>_<version>.sfs (plus adrv_, fdrv_, zdrv_ layers).

Why no entry: Puppy's init looks for its .sfs files on partitions (boot parameters
``pmedia=``, ``psubdir=``, ``pupsfs=``; Puppy's "boot parameters" documentation) but has no
parameter to look inside an ISO file; a frugal install (the .sfs files copied into a
directory) is Puppy's own answer.

Not verified against a real ISO (2026-11): the puppy_*.sfs naming and the "puppy" label come
from the reference notes; detection keys on the files only.
"""

from __future__ import annotations

import re

from sik.api import BootMethod, Detection, Detector, IsoView

_MAIN_SFS = re.compile(r"^puppy_([a-z0-9]+?)(64)?_(\d+(?:\.\d+)*)\.sfs$", re.IGNORECASE)


class Puppy(Detector, name="puppy", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        layers = [m for m in map(_MAIN_SFS.match, iso.listdir("/")) if m]
        kernel = iso.first_existing("vmlinuz")
        if not layers or kernel is None:
            return None
        layer = layers[0]
        return Detection(
            detector=self.name,
            method=BootMethod.puppy,
            distro="puppy",
            pretty_name="Puppy Linux",
            version=layer.group(3),
            arch="x86_64" if layer.group(2) else None,
            kernel=kernel,
            initrds=tuple(p for p in (iso.first_existing("initrd.gz"),) if p),
            grub_class="puppy",
            evidence=(f"/{layer.group(0)}", str(kernel)),
            edition=layer.group(1),
            blocker=(
                "Puppy's init only looks for its .sfs files on partitions, never inside an ISO: "
                "it cannot boot from an ISO file (a later sik release will add a helper initrd)"
            ),
        )
