"""Live media built by KIWI NG and booted by its kiwi-live dracut module: openSUSE Tumbleweed
and Leap live images, and Fedora live from release 42 on (Fedora moved its live media from
livemedia-creator to KIWI).

Fingerprint, from KIWI NG's live builder (kiwi/builder/live.py): the kernel and initrd are
``/boot/<arch>/loader/linux`` and ``/boot/<arch>/loader/initrd``, the root is
``/LiveOS/squashfs.img``. Both halves are needed, which tells KIWI live apart from
- Fedora <= 41 live (livemedia-creator, dmsquash-live): the same /LiveOS/squashfs.img, but the
  kernel under /images/pxeboot or /isolinux (detectors/dracut_live.py);
- anaconda installers (Fedora netinst/DVD, RHEL family): /images/pxeboot and /images/install.img,
  no /boot/<arch>/loader;
- openSUSE's linuxrc installers (NET, DVD): the same /boot/<arch>/loader files, no /LiveOS.

Boot parameters, from the module itself (Debian 12 kiwi-dracut-live 9.24.56, 90kiwi-live:
parse-kiwi-live.sh, kiwi-live-genrules.sh, kiwi-live-lib.sh, module-setup.sh) and KIWI's guide
"Build an ISO Hybrid Live Image" (https://osinside.github.io/kiwi/building_images/build_live_iso.html):
- ``root=live:CDLABEL=<volume id>``: turned into /dev/disk/by-label/<label> (udev's spelling),
  on which a udev rule runs kiwi-live-root to mount LiveOS/squashfs.img > LiveOS/rootfs.img
  under an overlay;
- ``rd.live.image``: read by dmsquash-live, which KIWI uses instead for images built with
  flags="dmsquash"; kiwi-live ignores it, so passing it suits both;
- ``iso-scan/filename=PATH``: module-setup.sh installs dmsquash-live's parse-iso-scan.sh and
  iso-scan.sh, which mount each partition until one holds PATH (at /run/initramfs/isoscan) and
  loop-mount the ISO, whose label then appears.
Persistence ("kiwi"): ``rd.live.overlay.persistent`` keeps a ``live_system.cow`` file at the
root of the partition holding the ISO (kiwi-live-lib.sh: preparePersistentOverlayLoopBoot).

openSUSE and Fedora are told apart by the volume label KIWI writes (the image's volid):
"openSUSE_Tumbleweed_KDE_Live", "openSUSE_Leap_15.6_GNOME_Live", "Fedora-KDE-Live-42-1-1".
"""

from __future__ import annotations

import re

from sik.api import BootMethod, Detection, Detector, IsoView, udev_label

# Architecture directories KIWI names after the platform (Defaults.get_platform_name()).
_ARCHES = ("x86_64", "aarch64", "i686", "i586")
# Fedora's short edition names in volume labels (pungi/KIWI volids) and their full names.
_FEDORA_EDITIONS = {"WS": "Workstation", "KDE": "KDE Plasma", "Workstation": "Workstation"}
_NUMBER = re.compile(r"^\d+(?:\.\d+)*$")


class KiwiLive(Detector, name="kiwi-live", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.exists("LiveOS/squashfs.img"):
            return None
        found = _loader(iso)
        label = iso.volume_id
        if found is None or not label:
            return None
        arch, kernel, initrd = found
        distro, pretty, version, edition = _identity(label)
        return Detection(
            detector=self.name,
            method=BootMethod.kiwi_live,
            distro=distro,
            # The version before the edition, as the distributions name their media.
            pretty_name=" ".join(p for p in (pretty, version, edition, "Live") if p),
            version=version,
            arch=arch,
            kernel=iso.first_existing(kernel),
            initrds=tuple(p for p in (iso.first_existing(initrd),) if p),
            cmdline=(
                f"root=live:CDLABEL={udev_label(label)}",
                "rd.live.image",
                "iso-scan/filename={iso}",
            ),
            grub_class=distro,
            evidence=("/LiveOS/squashfs.img", kernel, initrd, f"volume label {label!r}"),
            persistence="kiwi",
            edition=edition,
        )


def _loader(iso: IsoView) -> tuple[str, str, str] | None:
    """(arch, kernel, initrd) of the first /boot/<arch>/loader holding both files."""
    for arch in _ARCHES:
        kernel, initrd = f"/boot/{arch}/loader/linux", f"/boot/{arch}/loader/initrd"
        if iso.exists(kernel) and iso.exists(initrd):
            return arch, kernel, initrd
    return None


def _identity(label: str) -> tuple[str, str, str | None, str | None]:
    """(distro, pretty name, version, edition) from a KIWI volume label."""
    words = [w for w in re.split(r"[-_ ]+", label) if w]
    if words and words[0].lower() == "opensuse":
        flavour = words[1] if len(words) > 1 else ""
        version = next((w for w in words[2:] if _NUMBER.match(w)), None)
        rest = [w for w in words[2:] if w != version and w.lower() not in ("live", "x86", "64")]
        pretty = f"openSUSE {flavour}".strip()
        return "opensuse", pretty, version, " ".join(rest) or None
    if words and words[0].lower() == "fedora":
        version = next((w for w in words[1:] if w.isdigit()), None)
        kinds = [w for w in words[1:] if not w.isdigit() and w.lower() not in ("live", "desktop")]
        edition = _FEDORA_EDITIONS.get(kinds[0], kinds[0]) if kinds else None
        return "fedora", "Fedora", version, edition
    return "kiwi", label, None, None
