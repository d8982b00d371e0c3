"""Ubuntu and the distributions built like it, booted by casper: Ubuntu desktop and server,
Kubuntu, Xubuntu, Lubuntu, Ubuntu MATE, Ubuntu Budgie, Linux Mint, Pop!_OS, elementary OS
and Zorin OS.

Fingerprint: a casper directory (``/casper``, or Pop!_OS's ``/casper_pop-os_<ver>_<arch>_...``)
holding a kernel (vmlinuz, vmlinuz.efi) and an initrd (initrd, initrd.lz, initrd.gz), and
``/.disk/info`` naming the distribution ("Ubuntu 24.04.1 LTS "Noble Numbat" - Release amd64
(20240827)", "Ubuntu-Server ...", "Linux Mint 22 "Wilma" - Release amd64 20240728", ...). The
distribution is told apart by that first word of .disk/info, never by the ISO's file name;
Mint's edition (Cinnamon, MATE, Xfce) comes from its volume label ("Linux Mint 22 Cinnamon
64-bit"). A casper directory whose own menu boots ``boot=live`` is LMDE (live-boot), left to
detectors/debian_live.py.

Boot parameters, from casper(7) (https://manpages.ubuntu.com/manpages/noble/man7/casper.7.html):
- ``boot=casper`` selects casper's scripts in the initramfs;
- ``iso-scan/filename=PATH``: casper's iso-scan premount script mounts each partition until
  one holds PATH and uses that ISO as the live medium (it is what Ubuntu's own
  /boot/grub/loopback.cfg passes as ``iso-scan/filename=${iso_path}``);
- ``live-media-path=DIR`` when the casper directory is not ``/casper`` (Pop!_OS);
- Mint adds ``file=/cdrom/preseed/linuxmint.seed`` (its own menus do), which preseeds the
  live session.
Persistence: casper's ``persistent`` parameter, which looks for a ``casper-rw`` filesystem
label or file (and ``home-rw``), per casper(7): key "casper".

Facts checked against the distributions' build sources (2026-11):
- Pop!_OS: github pop-os/iso data/disk/info is ``DISTRO_NAME DISTRO_VERSION "UBUNTU_NAME" -
  Release amd64 (DISTRO_DATE)`` with DISTRO_NAME=Pop_OS (mk/config.mk), so .disk/info starts
  "Pop_OS"; its volume label (DISTRO_VOLUME_LABEL, mk/iso.mk ``-V``) is "Pop_OS <ver> amd64
  Intel|Nvidia" (older: "Pop_OS <ver> amd64"); the live files sit in CASPER_PATH
  (``casper_<iso name>``) with a /casper symlink to it, kernel vmlinuz.efi, initrd initrd.gz.
- elementary OS: github elementary/os etc/config/includes.binary/.disk/info is
  ``@DISTRO_NAME @VERSION "@CODENAME" - @CHANNEL @ARCH (@DATE)``, filled by etc/auto/config
  ('elementary OS 8.0 "Circe" - stable amd64 (20241122)'); the volume label is
  ``--iso-volume "$NAME"``, "elementary OS" with no version, so the version comes from
  .disk/info only.
- Ubuntu: .disk/info 'Ubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)', the
  "Ubuntu <version> "<codename>" - Release <arch> (<date>)" shape that SystemImageKit's
  boot/bin/detect_casper.sh reads from Ubuntu's ISOs.
- Linux Mint's volume label: Rufus proposes the ISO's own label, "Linux Mint 18.2 Cinnamon
  64-bit" for Mint 18.2 (github pbatard/rufus#984), the shape the edition is read from.
- Zorin OS 16: its initrd is casper/initrd.lz4 (github hakuna-m/wubiuefi#287), so the initrd
  is looked up by those names and then any "initrd.*".
Not verified against a real ISO or build script: Zorin OS's .disk/info wording (the edition
after the version, "Zorin OS 17.2 Core 64-bit") and Linux Mint's .disk/info; a missing
edition only shortens the title, and Mint's edition falls back to the titles of its own boot
menu ("Start Linux Mint 22 Cinnamon 64-bit") when the label names none.

Pop!_OS before its late-2025 ISOs (pop-os/iso PR #361) shipped an initrd without casper's
iso-scan script (pop-os/iso#243, #260): such an initrd cannot find an ISO file. The newer ISOs
are recognised by what they carry: a /boot/grub/loopback.cfg, or a grub.cfg that passes
``iso-scan/filename``. The older ones boot as a virtual CD, found through casper's
``live-media=DEVICE`` (casper(7): the device is searched first for the live filesystem);
checked against documentation only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sik.api import BootMethod, Detection, Detector, DiskInfo, IsoView, join, read_disk_info, read_menu

_KERNELS = ("vmlinuz", "vmlinuz.efi")
# Zorin OS 16 ships casper/initrd.lz4 (hakuna-m/wubiuefi#287); any other compressed initrd
# name is taken too, after these.
_INITRDS = ("initrd", "initrd.lz", "initrd.gz", "initrd.img", "initrd.lz4")
_MENUS = ("boot/grub/grub.cfg", "isolinux/txt.cfg", "isolinux/isolinux.cfg")


@dataclass(frozen=True)
class _Flavour:
    distro: str
    pretty: str
    edition: str | None
    grub_class: str


# The first word(s) of /.disk/info, as each distribution writes it.
_FLAVOURS = {
    "Ubuntu": _Flavour("ubuntu", "Ubuntu", "Desktop", "ubuntu"),
    "Ubuntu-Server": _Flavour("ubuntu", "Ubuntu", "Server", "ubuntu"),
    "Kubuntu": _Flavour("kubuntu", "Kubuntu", None, "kubuntu"),
    "Xubuntu": _Flavour("xubuntu", "Xubuntu", None, "xubuntu"),
    "Lubuntu": _Flavour("lubuntu", "Lubuntu", None, "lubuntu"),
    "Ubuntu-MATE": _Flavour("ubuntu-mate", "Ubuntu MATE", None, "ubuntu"),
    "Ubuntu-Budgie": _Flavour("ubuntu-budgie", "Ubuntu Budgie", None, "ubuntu"),
    "Linux Mint": _Flavour("linuxmint", "Linux Mint", None, "linuxmint"),
    "Pop_OS": _Flavour("pop-os", "Pop!_OS", None, "pop-os"),
    "Pop!_OS": _Flavour("pop-os", "Pop!_OS", None, "pop-os"),
    "elementary OS": _Flavour("elementary", "elementary OS", None, "elementary"),
    "Zorin OS": _Flavour("zorin", "Zorin OS", None, "zorin"),
}
_MINT_EDITIONS = ("Cinnamon", "MATE", "Xfce")
_POP_VARIANTS = {"intel": "Intel/AMD", "nvidia": "NVIDIA"}


class Casper(Detector, name="casper", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        directory = _casper_dir(iso)
        if directory is None:
            return None
        names = iso.listdir(directory)
        kernel = next((k for k in _KERNELS if k in names), None)
        initrd = next((i for i in _INITRDS if i in names), None) or next(
            (n for n in sorted(names) if n.startswith("initrd.")), None
        )
        if kernel is None or initrd is None or _boots_live_boot(iso):
            return None
        info = read_disk_info(iso)
        flavour = _flavour(info)
        cmdline = ["boot=casper"]
        if flavour.distro == "linuxmint" and iso.exists("preseed/linuxmint.seed"):
            cmdline.append("file=/cdrom/preseed/linuxmint.seed")
        if directory != "casper":
            cmdline.append(f"live-media-path=/{directory}")
        cmdline.append("iso-scan/filename={iso}")
        evidence = [f"/{directory}/{kernel}", f"/{directory}/{initrd}"]
        evidence += [f".disk/info: {info.text}"] if info else []
        blocker = None
        if flavour.distro == "pop-os" and not _has_iso_scan(iso):
            blocker = "this Pop!_OS initrd has no casper iso-scan script (added in late 2025)"
            evidence.append("no /boot/grub/loopback.cfg and no iso-scan/filename in grub.cfg")
        version = info.version if info else None
        if version and info and f"{version} LTS" in info.text:
            version += " LTS"
        return Detection(
            detector=self.name,
            method=BootMethod.casper,
            distro=flavour.distro,
            pretty_name=flavour.pretty,
            version=version,
            arch=info.arch if info else None,
            kernel=join(directory, kernel),
            initrds=(join(directory, initrd),),
            cmdline=tuple(cmdline),
            grub_class=flavour.grub_class,
            evidence=tuple(evidence),
            edition=_edition(iso, flavour, directory, info),
            persistence="casper",
            blocker=blocker,
        )


def _casper_dir(iso: IsoView) -> str | None:
    if iso.is_dir("casper"):
        return "casper"
    pop = sorted(n for n in iso.listdir("/") if n.startswith("casper_") and iso.is_dir(n))
    return pop[-1] if pop else None


def _boots_live_boot(iso: IsoView) -> bool:
    """LMDE keeps live-boot's files in /casper: its own menu says ``boot=live``."""
    return any("boot=live" in item.args for item in read_menu(iso, *_MENUS))


def _has_iso_scan(iso: IsoView) -> bool:
    if iso.exists("boot/grub/loopback.cfg"):
        return True
    return any(
        arg.startswith("iso-scan/filename=") for item in read_menu(iso, *_MENUS) for arg in item.args
    )


def _flavour(info: DiskInfo | None) -> _Flavour:
    if info and info.name:
        for key in sorted(_FLAVOURS, key=len, reverse=True):
            if info.name == key or info.name.startswith(key + " "):
                return _FLAVOURS[key]
        return _Flavour(info.name.lower().replace(" ", "-"), info.name, None, "linux")
    return _Flavour("casper", "Casper live system", None, "linux")


def _edition(iso: IsoView, flavour: _Flavour, directory: str, info: DiskInfo | None) -> str | None:
    if flavour.distro == "zorin" and info and info.version:
        # "Zorin OS 17.2 Core 64-bit ...": the word after the version is the edition.
        after = info.text.split(info.version, 1)[1].split()
        return after[0] if after and after[0].isalpha() else None
    if flavour.distro == "linuxmint":
        for text in [iso.volume_id] + [item.title for item in read_menu(iso, *_MENUS)]:
            words = text.lower().split()
            found = next((e for e in _MINT_EDITIONS if e.lower() in words), None)
            if found:
                return found
        return None
    if flavour.distro == "pop-os":
        parts = directory.split("_")
        return next((_POP_VARIANTS[p] for p in parts if p in _POP_VARIANTS), None)
    return flavour.edition
