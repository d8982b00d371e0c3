"""openSUSE Tumbleweed and Leap installer ISOs (DVD and NET), booted by linuxrc.

Fingerprint: /boot/<arch>/loader/linux and initrd with a repository medium description,
/media.1/ (the installer's product media), and no /LiveOS (live ISOs are KIWI's, another
detector's). Version and edition come from /media.1/media's ident line
("openSUSE-Leap-15.6-DVD-x86_64-Build710.3-Media",
"openSUSE-Tumbleweed-NET-x86_64-Snapshot20241211-Media") or the volume label.

Checked (2026-11): /media.1/media's structure, from libzypp's parser
(zypp/repo/SUSEMediaVerifier.cc: first line the media vendor, second the media ident, third
the number of media), so the version is looked for in the first two lines and the label.
Not verified against a real ISO: the ident's wording ("openSUSE-Tumbleweed-DVD-x86_64-
Snapshot20241211-Media", from the reference notes). The detector keys on the files
(media.1/, boot/<arch>/loader/linux and initrd); other wording costs the version, never the
entry.

Boot parameters, from linuxrc's documentation (openSUSE/linuxrc linuxrc_repo.md and
https://en.opensuse.org/SDB:Linuxrc): ``install=<url>`` names the repository; the ``hd:``
scheme is a local disk, its path may point to an ISO image (loop-mounted), and without a
``device=`` query linuxrc searches every disk for the path. So ``install=hd:<path of the ISO>``.
Persistence: none (an installer).
"""

from __future__ import annotations

import re

from sik.api import BootMethod, Detection, Detector, IsoView

_ARCHES = ("x86_64", "aarch64", "i386")
_VERSION = re.compile(r"Leap-(\d+(?:\.\d+)?)|Snapshot(\d{8})|openSUSE-(\d+\.\d+)")


class Linuxrc(Detector, name="linuxrc", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.is_dir("media.1") or iso.is_dir("LiveOS"):
            return None
        arch = next((a for a in _ARCHES if iso.is_dir(f"boot/{a}/loader")), None)
        if arch is None:
            return None
        kernel = iso.first_existing(f"boot/{arch}/loader/linux")
        initrd = iso.first_existing(f"boot/{arch}/loader/initrd")
        if kernel is None or initrd is None:
            return None
        media = (iso.read_text("media.1/media", limit=1024) or "").strip()
        # libzypp's SUSEMediaVerifier reads: vendor, media ident, number of media.
        text = " ".join(media.splitlines()[:2] + [iso.volume_id])
        found = _VERSION.search(text)
        version = next((g for g in found.groups() if g), None) if found else None
        tumbleweed = "Tumbleweed" in text
        edition = "NET" if "-NET-" in text or "NET" in iso.volume_id.split("-") else "DVD"
        return Detection(
            detector=self.name,
            method=BootMethod.linuxrc,
            distro="opensuse-tumbleweed" if tumbleweed else "opensuse-leap",
            pretty_name="openSUSE Tumbleweed" if tumbleweed else "openSUSE Leap",
            version=version,
            arch=arch,
            kernel=kernel,
            initrds=(initrd,),
            cmdline=("install=hd:{iso}",),
            grub_class="opensuse",
            evidence=("/media.1/", str(kernel), str(initrd), f"media: {text.strip()}"),
            edition=f"{edition} installer",
        )
