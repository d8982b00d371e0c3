"""ISO images made by ``grub-mkrescue``: GRUB rescue disks, Super Grub2 Disk-style tools, and
systems whose only boot knowledge is their own /boot/grub/grub.cfg.

Fingerprint, from the files grub-mkrescue writes (Debian 12, GRUB 2.06; GRUB manual, "Making a
GRUB bootable CD-ROM"): /boot/grub/grub.cfg, plus the BIOS El Torito image
/boot/grub/i386-pc/eltorito.img or the EFI El Torito image /efi.img (with its Apple companions
/mach_kernel and /System/Library/CoreServices/boot.efi when built for EFI).

How the entry boots: sik's GRUB mounts the ISO as ``(loop)``, sets ``root`` to it and reads the
ISO's /boot/grub/grub.cfg with ``configfile`` (GRUB manual, "configfile":
https://www.gnu.org/software/grub/manual/grub/grub.html#configfile), so the menu the image
would show when booted as a CD appears, with its paths resolving inside the ISO. ``prefix`` stays
sik's own on purpose: an ``insmod`` in the image's grub.cfg must load modules built for the GRUB
that is running (sik's), since modules of another GRUB build do not link against it; the image's
/boot/grub/<platform> directories are never read. ``iso_path`` is exported as for loopback.cfg.

The priority is below the loopback.cfg fallback's: an ISO that also ships a loopback.cfg says by
that how it wants to be booted from a file, and a distribution's own detector beats both.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView

_MKRESCUE_FILES = ("boot/grub/i386-pc/eltorito.img", "efi.img", "mach_kernel")


class GrubImage(Detector, name="grub-image", priority=-10):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.exists("boot/grub/grub.cfg"):
            return None
        marks = [path for path in _MKRESCUE_FILES if iso.exists(path)]
        if not marks:
            return None
        platforms = [p for p in ("i386-pc", "x86_64-efi") if iso.is_dir(f"boot/grub/{p}")]
        label = iso.volume_id
        return Detection(
            detector=self.name,
            method=BootMethod.grub_image,
            distro="grub",
            pretty_name=f"GRUB image {label}" if label else "GRUB image",
            grub_class="grub",
            evidence=("/boot/grub/grub.cfg", *(f"/{m}" for m in marks))
            + tuple(f"/boot/grub/{p}/" for p in platforms),
        )
