"""Proxmox installer ISOs (Proxmox VE, Backup Server, Mail Gateway), booted as a virtual CD.

Fingerprint: /.disk/info holding shell-style KEY='value' lines naming the product
(PRODUCT='pve', PRODUCTLONG='Proxmox VE', RELEASE='8.3', ISORELEASE='1'; the same keys as the
installer's cd-info file, which older ISOs carry as /.cd-info), and /boot/linux26 with
/boot/initrd.img. /.pve-cd-id.txt (per product) is the id the installer's init compares.

Why no ISO-file entry: the installer's init loops over whole block devices (/sys/block/sd*,
sr*, nvme*, ...), mounts each as ISO 9660 and looks for the id file baked into its initrd
(described in https://osisa.github.io/NETSetup/docs/pve-init-iso-scanning.md for PVE 9.1):
neither partitions nor loop devices are looked at, so an ISO file is never found. sik shows
it the ISO as a virtual CD and, at build time, adds that device to the /init's list
(sik/customize/vcd.py, patch "pve-scan"; refused when the list is not there exactly once).

Boot parameters: the first entry of the ISO's own /boot/grub/grub.cfg ("Install Proxmox VE
(Graphical)": ``ro ramdisk_size=16777216 rw quiet splash=silent``, the same text in the
reference notes), used as read when present. Checked against documentation only: no
Proxmox ISO boots here (the CD-only fixture of tests/fixtures/cdonly.py copies its layout
and its /init's device loop).

Not verified against a real ISO (2026-11): /.disk/info's KEY='value' lines and the "PVE"
label come from the reference notes only; without a PRODUCT line, /.pve-cd-id.txt or
/pve-installer.squashfs next to /boot/linux26 still make it Proxmox VE (without a version).
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView, parse_key_values, read_menu

_DEFAULT_ARGS = ("ro", "ramdisk_size=16777216", "rw", "quiet", "splash=silent")


class Proxmox(Detector, name="proxmox", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        info: dict[str, str] = {}
        for path in (".disk/info", ".cd-info"):
            info = parse_key_values(iso.read_text(path, limit=4096) or "")
            if info.get("PRODUCT"):
                break
        kernel = iso.first_existing("boot/linux26")
        if kernel is None:
            return None
        if not info.get("PRODUCT"):
            # The info file's wording is unverified: the installer's own files still say PVE.
            if not iso.first_existing(".pve-cd-id.txt", "pve-installer.squashfs"):
                return None
            info = {"PRODUCT": "pve", "PRODUCTLONG": "Proxmox VE"}
        product = info.get("PRODUCTLONG") or f"Proxmox {info['PRODUCT'].upper()}"
        release = info.get("RELEASE")
        iso_release = info.get("ISORELEASE")
        own = next((item.args for item in read_menu(iso, "boot/grub/grub.cfg") if item.args), ())
        return Detection(
            detector=self.name,
            method=BootMethod.proxmox,
            distro=info["PRODUCT"],
            pretty_name=product,
            version=f"{release}-{iso_release}" if release and iso_release else release,
            arch="amd64",
            kernel=kernel,
            initrds=tuple(p for p in (iso.first_existing("boot/initrd.img"),) if p),
            cmdline=own or _DEFAULT_ARGS,
            grub_class="proxmox",
            evidence=(f"PRODUCT={info['PRODUCT']} in /.disk/info or /.cd-info", str(kernel)),
            edition="installer",
            blocker=f"{product}'s installer only searches whole disks for its CD",
        )
