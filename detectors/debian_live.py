"""Debian live media and their derivatives booted by live-boot: Debian live, Kali, Tails,
GParted Live, Clonezilla Live and LMDE.

Fingerprint: a /live directory holding a squashfs root plus a kernel and initrd
(Debian 12 names them vmlinuz-<kver>/initrd.img-<kver>; older media and derivatives use
plain vmlinuz/initrd.img). Derivatives are more specific than plain Debian, each by a file
or text it alone carries:
- Kali: "Kali" as a word in /.disk/info or in the volume label (see the sources below);
- Tails: /live/Tails.module (live-boot's ``module=Tails`` list of squashfs images);
- GParted Live: /GParted-Live-Version; Clonezilla Live: /Clonezilla-Live-Version;
- LMDE: /.disk/info starts with "LMDE"; LMDE 6 keeps live-boot's files in /casper.

Boot parameters, from live-boot(7) as shipped in Debian 12's live-boot-doc:
- ``boot=live`` selects live-boot's scripts in the initramfs;
- ``components`` runs live-config in the booted system, as Debian's own menus do
  (GParted and Clonezilla spell it ``config``, as their menus do);
- ``findiso=PATH`` makes live-boot mount every partition it can until one holds PATH, then
  loop-mount that ISO as the live medium (``fromiso=`` would need the block device too);
- ``live-media-path=DIR`` when the squashfs is not in /live (LMDE 6);
- ``module=Tails`` reads the list of squashfs images from /live/Tails.module; Tails' own menu
  also passes ``nopersistence`` (its Persistent Storage exists only on a Tails USB stick) and
  its hardening options, copied here from the ISO's own isolinux/live*.cfg when present;
- GParted and Clonezilla pass ``union=overlay username=user`` and the ``toram=`` list of
  their own menus, so the stick can be removed after boot.
Facts checked against their sources (2026-11):
- /.disk/info as live-build writes it (Debian 12's live-build 1:20230502,
  /usr/lib/live/build/binary_disk): ``Debian GNU/Linux <VERSION_ID> "<Codename>" - Official
  Snapshot <arch> LIVE/INSTALL Binary <date>``: the title is "Debian GNU/Linux" whatever the
  distribution, the version is the chroot's os-release VERSION_ID and the codename is the
  capitalised distribution ("Kali-rolling"). So Kali is matched on the word "Kali" anywhere
  in that line, not on its first word.
- Kali's volume label: kalilinux live-build-config auto/config passes ``--iso-volume``; a fork
  of it (github DCHHV/kali-live-build-config, auto/config) spells it "HHV Kali Live", the
  official one "Kali Live" (hence: "Kali" as a word, anywhere in the label).
- Tails' volume label: Tails' auto/config (github austin987/tails, a mirror of Tails' git)
  passes ``--iso-volume="TAILS ${AMNESIA_FULL_VERSION}"`` ("TAILS 6.10 - 20241217"); the
  detector does not rely on it beyond reading the version.
- Tails' /live/Tails.module: Tails' own scripts read the medium's live/Tails.module (its
  chroot-browser helper: ``tails_module_path=/lib/live/mount/medium/live/Tails.module``, the
  list of squashfs images, oldest first), which ``module=Tails`` selects.
Not verified against a real ISO: Kali's own .disk/info wording (Kali builds with its patched
live-build, "+kali" versions, whose binary_disk may write "Kali GNU/Linux"; both spellings
match).

Persistence: live-boot's ``persistence`` parameter with a ``persistence.conf`` on a volume
labelled ``persistence`` (live-boot(7), persistence.conf(5)): key "live-boot". Tails, GParted
and Clonezilla do not use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sik.api import (
    BootMethod,
    Detection,
    Detector,
    DiskInfo,
    IsoView,
    first_version,
    join,
    newest,
    read_disk_info,
    read_menu,
)

# Debian live's volume label ends "<version> <desktop> <arch>": "d-live 12.11.0 gn amd64".
_DEBIAN_DESKTOPS = {
    "gn": "GNOME",
    "kd": "KDE",
    "xf": "Xfce",
    "ci": "Cinnamon",
    "lx": "LXDE",
    "lq": "LXQt",
    "ma": "MATE",
    "st": "standard",
}
_TAILS_MENUS = ("isolinux/live64.cfg", "isolinux/live.cfg", "EFI/debian/grub.cfg", "boot/grub/grub.cfg")
_TAILS_ARGS = ("boot=live", "config", "module=Tails", "nopersistence", "noprompt", "timezone=Etc/UTC")
# Tails' own menu options that name its medium or are already in _TAILS_ARGS.
_TAILS_SKIP = re.compile(r"^(live-media=|findiso=|initrd=|quiet$|splash$)")


def _live_files(iso: IsoView, directory: str) -> tuple[str, str] | None:
    names = iso.listdir(directory)
    if not any(n.endswith(".squashfs") for n in names):
        return None
    kernel = newest(names, "vmlinuz")
    initrd = newest(names, "initrd.img") or newest(names, "initrd")
    return (kernel, initrd) if kernel and initrd else None


@dataclass(frozen=True)
class _Facts:
    version: str | None = None
    arch: str | None = None
    edition: str | None = None
    evidence: tuple[str, ...] = ()


def _live(
    detector: Detector,
    iso: IsoView,
    directory: str,
    names: tuple[str, str, str],  # distro, pretty name, GRUB class
    cmdline: tuple[str, ...],
    facts: _Facts,
    persistence: str | None = "live-boot",
) -> Detection | None:
    files = _live_files(iso, directory)
    if files is None:
        return None
    kernel, initrd = files
    distro, pretty, grub_class = names
    return Detection(
        detector=detector.name,
        method=BootMethod.live_boot,
        distro=distro,
        pretty_name=pretty,
        version=facts.version,
        arch=facts.arch,
        kernel=join(directory, kernel),
        initrds=(join(directory, initrd),),
        cmdline=cmdline,
        grub_class=grub_class,
        evidence=(f"/{directory}/ holds a .squashfs", f"/{directory}/{kernel}", f"/{directory}/{initrd}")
        + facts.evidence,
        edition=facts.edition,
        persistence=persistence,
    )


def _info_facts(info: DiskInfo | None, edition: str | None = None) -> _Facts:
    if info is None:
        return _Facts(edition=edition)
    return _Facts(info.version, info.arch, edition, (f".disk/info: {info.text}",))


class DebianLive(Detector, name="debian-live", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.is_dir("live"):
            return None
        info = read_disk_info(iso)
        words = iso.volume_id.split()
        desktop = _DEBIAN_DESKTOPS.get(words[-2]) if len(words) >= 3 else None
        pretty = info.name if info and info.name else "Debian live"
        facts = _info_facts(info, f"Live {desktop}" if desktop else None)
        cmdline = ("boot=live", "components", "findiso={iso}")
        return _live(self, iso, "live", ("debian", pretty, "debian"), cmdline, facts)


# "Kali" as a word: live-build writes Kali's codename ("Kali-rolling") into .disk/info even
# where its title says "Debian GNU/Linux"; Kali's auto/config labels the ISO "Kali Live".
_KALI = re.compile(r"(?<![A-Za-z])kali(?![A-Za-z])", re.IGNORECASE)


class Kali(Detector, name="kali", priority=55):
    def probe(self, iso: IsoView) -> Detection | None:
        info = read_disk_info(iso)
        if not (info and _KALI.search(info.text)) and not _KALI.search(iso.volume_id):
            return None
        facts = _info_facts(info, "Live")
        if facts.version is None:
            facts = replace(facts, version=first_version(iso.volume_id))
        cmdline = ("boot=live", "components", "noeject", "findiso={iso}")
        return _live(self, iso, "live", ("kali", "Kali Linux", "kali"), cmdline, facts)


class Tails(Detector, name="tails", priority=55):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.exists("live/Tails.module"):
            return None
        own = next((item.args for item in read_menu(iso, *_TAILS_MENUS) if item.args), ())
        extra = tuple(a for a in own if a not in _TAILS_ARGS and not _TAILS_SKIP.match(a))
        facts = _Facts(first_version(iso.volume_id), "amd64", None, ("/live/Tails.module",))
        cmdline = (*_TAILS_ARGS, *extra, "findiso={iso}")
        return _live(self, iso, "live", ("tails", "Tails", "tails"), cmdline, facts, None)


# GParted and Clonezilla Live boot options, from their own menus, before findiso=.
_GPARTED_ARGS = ("boot=live", "union=overlay", "username=user", "config", "components", "noswap")
_GPARTED_TORAM = ("toram=filesystem.squashfs",)
_CLONEZILLA_EXTRA = (
    "edd=on",
    "nomodeset",
    "ocs_live_run=ocs-live-general",
    "ocs_live_batch=no",
    "toram=live,syslinux,EFI,boot,.disk,utils",
)


class GPartedLive(Detector, name="gparted-live", priority=55):
    def probe(self, iso: IsoView) -> Detection | None:
        stamp = iso.read_text("GParted-Live-Version", limit=256)
        if stamp is None:
            return None
        cmdline = (*_GPARTED_ARGS, *_GPARTED_TORAM, "findiso={iso}")
        names = ("gparted", "GParted Live", "gparted")
        return _live(
            self, iso, "live", names, cmdline, _stamp_facts(stamp, "GParted-Live-Version"), None
        )


class ClonezillaLive(Detector, name="clonezilla-live", priority=55):
    def probe(self, iso: IsoView) -> Detection | None:
        stamp = iso.read_text("Clonezilla-Live-Version", limit=256)
        if stamp is None:
            return None
        cmdline = (*_GPARTED_ARGS, *_CLONEZILLA_EXTRA, "findiso={iso}")
        names = ("clonezilla", "Clonezilla Live", "clonezilla")
        facts = _stamp_facts(stamp, "Clonezilla-Live-Version")
        return _live(self, iso, "live", names, cmdline, facts, None)


def _stamp_facts(stamp: str, name: str) -> _Facts:
    """'clonezilla-live-3.2.0-5-amd64' -> version 3.2.0-5, arch amd64."""
    line = stamp.strip().splitlines()[0] if stamp.strip() else ""
    version = re.search(r"\d+(?:\.\d+)+(?:-\d+)?", line)
    arch = re.search(r"(amd64|i686|i386|arm64)", line)
    return _Facts(
        version.group(0) if version else None,
        arch.group(1) if arch else None,
        None,
        (f"/{name}: {line}",),
    )


class Lmde(Detector, name="lmde", priority=55):
    def probe(self, iso: IsoView) -> Detection | None:
        info = read_disk_info(iso)
        if not (info and info.text.startswith("LMDE")):
            return None
        directory = "casper" if iso.is_dir("casper") else "live"
        media = ("live-media-path=/casper",) if directory == "casper" else ()
        cmdline = ("boot=live", *media, "findiso={iso}")
        return _live(self, iso, directory, ("lmde", "LMDE", "linuxmint"), cmdline, _info_facts(info))
