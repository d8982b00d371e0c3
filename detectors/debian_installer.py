"""Debian's installer ISOs (netinst, DVD) and those of derivatives built the same way (Kali's
installer image), booted as a virtual CD.

Fingerprint: /install.<arch>/vmlinuz and initrd.gz (install.amd, install.386, install.a64),
and /.disk/info ("Debian GNU/Linux 12.11.0 "Bookworm" - Official amd64 NETINST with firmware
20250517-09:51", "... Official amd64 DVD Binary-1 ...").

Why no ISO-file entry: the installer's cdrom initrd looks for its CD only on optical drives
("No common CD-ROM drive was detected"; Debian bugs #724931 and #953836: iso-scan/filename
is not honoured). The Debian installation guide (section 4.3, "Preparing files for hard disk
booting") names the separately published hd-media kernel and initrd instead. sik shows the
ISO as a virtual CD: cdrom-detect mounts each device `list-devices cd` prints, and sik's
build-time patch of the initrd's bin/list-devices (di-utils 1.146, Debian 12) prints that
device first (sik/customize/vcd.py, patch "di-list-devices"). The cdrom initrd has no loop
module: sik takes it from the ISO's own loop-modules-<version>-di udeb in /pool.

Boot parameters: the ISO's own isolinux "Install" entry (``vga=788 --- quiet``). Checked
against documentation only: no Debian installer ISO boots here.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView, read_disk_info, read_menu

_ARCHES = {"install.amd": "amd64", "install.386": "i386", "install.a64": "arm64"}
_EDITIONS = (("NETINST", "netinst"), ("DVD", "DVD"), ("BD", "BD"), ("CD", "CD"))
_MENUS = ("isolinux/txt.cfg", "isolinux/menu.cfg", "boot/grub/grub.cfg")
_DEFAULT_ARGS = ("vga=788", "---", "quiet")


class DebianInstaller(Detector, name="debian-installer", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        directory = next((d for d in _ARCHES if iso.is_dir(d)), None)
        if directory is None:
            return None
        kernel = iso.first_existing(f"{directory}/vmlinuz")
        initrd = iso.first_existing(f"{directory}/initrd.gz")
        if kernel is None or initrd is None:
            return None
        info = read_disk_info(iso)
        name = info.name if info and info.name else "Debian GNU/Linux"
        upper = info.text.upper() if info else ""
        edition = next((e for key, e in _EDITIONS if key in upper), None)
        own = next(
            (item.args for item in read_menu(iso, *_MENUS) if item.kernel == f"/{directory}/vmlinuz"),
            (),
        )
        args = tuple(a for a in own if not a.startswith("initrd=")) or _DEFAULT_ARGS
        return Detection(
            detector=self.name,
            method=BootMethod.debian_installer,
            distro=name.split()[0].lower(),
            pretty_name=f"{name} installer",
            version=info.version if info else None,
            arch=_ARCHES[directory],
            kernel=kernel,
            initrds=(initrd,),
            cmdline=args,
            grub_class=name.split()[0].lower(),
            evidence=(str(kernel), str(initrd)) + ((f".disk/info: {info.text}",) if info else ()),
            edition=edition,
            blocker="Debian's installer initrd only looks for its CD on optical drives",
        )
