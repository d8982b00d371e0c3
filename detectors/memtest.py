"""memtest86+ 6.x and later ISOs.

The ISO itself cannot be loop-booted (it boots by El Torito floppy emulation), but it carries
both programs: /boot/floppy.img starts with the BIOS binary (byte for byte Debian's
memtest86+x64.bin, padded to 1.44 MB), which speaks the Linux boot protocol, and
/EFI/BOOT/bootx64.efi is the UEFI binary. Under UEFI GRUB's ``linux`` loads the latter, as
Debian's /etc/grub.d/20_memtest86+ does; under BIOS the template uses ``linux16``, because
GRUB's 32-bit entry hangs on the padded image (seen in the boot tests). Volume labels are
MT86PLUS_64 and MT86PLUS_32.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView


class Memtest86Plus(Detector, name="memtest86+", priority=60):
    def probe(self, iso: IsoView) -> Detection | None:
        label = iso.volume_id
        if not label.startswith("MT86PLUS"):
            return None
        bios = iso.first_existing("boot/floppy.img", "boot/memtest.bin")
        efi = iso.first_existing("EFI/BOOT/bootx64.efi", "EFI/BOOT/BOOTX64.EFI")
        if bios is None and efi is None:
            return None
        arch = "x86_64" if label.endswith("64") else "i386"
        return Detection(
            detector=self.name,
            method=BootMethod.memtest,
            distro="memtest86+",
            pretty_name="Memtest86+",
            arch=arch,
            kernel=bios,
            efi_kernel=efi if arch == "x86_64" else None,
            grub_class="memtest",
            evidence=(f"volume label {label!r}",) + tuple(str(p) for p in (bios, efi) if p),
        )
