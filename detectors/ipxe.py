"""iPXE's own ISO images (Debian's ipxe package: /usr/lib/ipxe/ipxe.iso; upstream
``make bin/ipxe.iso``).

Such an ISO boots by El Torito, not from a file, but it carries iPXE in both forms GRUB can start:
- for BIOS, the Linux-kernel build (``ipxe.lkrn``; Debian's copy, made by util/geniso, names it
  ``/ipxe.krn``), named by the ISO's /isolinux.cfg. iPXE's build-target notes
  (https://ipxe.org/appnote/buildtargets) list .lkrn as the image any Linux boot loader can
  load; the template uses ``linux16``, as Debian's /etc/grub.d/20_ipxe does;
- for UEFI, ``EFI/BOOT/BOOTX64.EFI``, either in the ISO's own tree or inside the FAT image that
  is the El Torito EFI boot image (Debian's ISO: /efi.img). GRUB starts it with ``chainloader``
  after mounting a FAT image as a second loop device with ``loopback`` (GRUB manual,
  https://www.gnu.org/software/grub/manual/grub/grub.html, "chainloader" and "loopback").
An ISO that lacks the program for the firmware in use gets an entry that says so on the screen.

Fingerprint: at the ISO's root (where iPXE's geniso and genfsimg put them, and distributions
do not), the .lkrn/.krn named by isolinux.cfg together with an iPXE marker there (Debian's geniso
writes "SAY iPXE ISO boot image"), or a file named ipxe.lkrn. The priority is below the
distribution detectors': a distribution's ISO that also carries iPXE is that distribution.
"""

from __future__ import annotations

import re

from sik.api import BootMethod, Detection, Detector, IsoView

_KERNEL_LINE = re.compile(r"^\s*KERNEL\s+/?(\S+\.l?krn)\s*$", re.IGNORECASE | re.MULTILINE)
_EFI_PROGRAMS = ("EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/bootx64.efi", "efi/boot/bootx64.efi")
# El Torito EFI images as util/geniso and util/genfsimg name them.
_EFI_IMAGES = ("efi.img", "efiboot.img")


class Ipxe(Detector, name="ipxe", priority=40):
    def probe(self, iso: IsoView) -> Detection | None:
        bios = iso.first_existing(*_bios_candidates(iso))
        if bios is None:
            return None
        efi = iso.first_existing(*_EFI_PROGRAMS) or iso.first_existing(*_EFI_IMAGES)
        return Detection(
            detector=self.name,
            method=BootMethod.ipxe,
            distro="ipxe",
            pretty_name="iPXE network boot",
            kernel=bios,
            efi_kernel=efi,
            grub_class="ipxe",
            evidence=(str(bios),) + ((str(efi),) if efi else ("no EFI program or EFI image",)),
        )


def _bios_candidates(iso: IsoView) -> tuple[str, ...]:
    """Where iPXE's BIOS program may be: what an iPXE isolinux.cfg names, then ipxe.lkrn."""
    config = iso.read_text("isolinux.cfg", limit=8192)
    named = _KERNEL_LINE.findall(config) if config and "ipxe" in config.lower() else []
    return (*named, "ipxe.lkrn")
