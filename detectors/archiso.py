"""Arch Linux and the distributions built with archiso (EndeavourOS, SystemRescue), and
Manjaro, built with archiso's fork miso.

Fingerprint: the archiso base directory (/arch, SystemRescue's /sysresccd) holding
boot/x86_64/ with the kernel and initramfs. Kernel names changed: archiso since 2020 writes
vmlinuz-linux and initramfs-linux.img (before: vmlinuz and archiso.img; SystemRescue:
vmlinuz and sysresccd.img). Microcode changed too: before 2024 the ISO carried
boot/intel-ucode.img and boot/amd-ucode.img to load first as separate initrds (SystemRescue:
intel_ucode.img, amd_ucode.img); since then it is embedded in the initramfs. Both are keyed
on the files the ISO holds. EndeavourOS shares /arch and is told apart by its volume label
(EOS_<yyyymm>) or its own menu's title. Manjaro: /manjaro with /boot/vmlinuz-x86_64,
/boot/initramfs-x86_64.img and the ucode images, volume label MANJARO_<EDITION>_<version>
(MANJARO_GNOME_2001 is 20.0.1; MANJARO_KDEM_... the minimal KDE image).
Versions: /arch/version ("2024.11.01"), else the label (ARCH_202411, RESCUE1103, ..._2421).

Labels checked against the build scripts (2026-11):
- Arch: archiso's releng profiledef.sh sets ``iso_label="ARCH_$(date ... +%Y%m)"`` (seen in
  copies of the profile in the code index; archiso itself was not read) and iso_version
  ``%Y.%m.%d`` (the /arch/version stamp);
- EndeavourOS: github endeavouros-team/EndeavourOS-ISO profiledef.sh
  ``iso_label="EOS_$(date +%Y%m)"``; its older build.sh (EndeavourOS-archiso) used the fixed
  label "ENDEAVOUROS", so both are accepted, and its menu title as well;
- SystemRescue: its build.sh (code index, repository not named) sets
  ``iso_label="RESCUE${iso_mainver//.}"`` (11.03 -> RESCUE1103) and install_dir=sysresccd,
  copying the kernel to sysresccd/boot/<arch>/vmlinuz, the initramfs to sysresccd.img and the
  microcode to intel_ucode.img / amd_ucode.img.
Not verified against a real ISO: Manjaro's label format (MANJARO_<EDITION>_<version>), as
GLIM's inc-manjaro.cfg and Ventoy's Manjaro hook expect it; a label of another shape only loses the
version and edition, detection keys on /manjaro and the kernel files.

Boot parameters, from archiso's docs/README.bootparams (archlinux/mkinitcpio-archiso):
- ``archisobasedir=DIR`` where the airootfs image lives (default ``arch``);
- ``archisolabel=LABEL`` the ISO's label (the loop hook below overrides the device it names);
- hooks/archiso_loop_mnt: ``img_dev=DEVICE`` the device holding the ISO file (here
  /dev/disk/by-uuid/<data partition UUID>) and ``img_loop=PATH`` its path there; both must be
  given. miso's hooks take the same img_dev/img_loop, with ``misobasedir=`` and
  ``misolabel=`` (Manjaro's own /boot/grub/loopback.cfg passes these).
Persistence: ``cow_label=`` / ``cow_device=`` (README.bootparams, hooks/archiso): key
"archiso", for Arch, EndeavourOS and SystemRescue; Manjaro's miso is not documented to keep
it, so none.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from sik.api import BootMethod, Detection, Detector, IsoView, first_version, join, read_menu, udev_label

_ARCH_KERNELS = (("vmlinuz-linux", "initramfs-linux.img"), ("vmlinuz", "archiso.img"))
_MENUS = ("boot/grub/grub.cfg", "boot/grub/loopback.cfg", "syslinux/archiso_sys-linux.cfg")


def _loop_args(basedir_key: str, basedir: str, label_key: str, label: str) -> tuple[str, ...]:
    return (
        f"{basedir_key}={basedir}",
        f"{label_key}={udev_label(label)}",
        "img_dev=/dev/disk/by-uuid/{data_uuid}",
        "img_loop={iso}",
    )


def _ucode(iso: IsoView, directory: str, *names: str) -> tuple[PurePosixPath, ...]:
    return tuple(p for p in (iso.first_existing(f"{directory}/{n}") for n in names) if p)


def _label_yyyymm(label: str) -> str | None:
    found = re.search(r"(\d{4})(\d{2})$", label)
    return f"{found.group(1)}.{found.group(2)}" if found else None


class ArchIso(Detector, name="archiso", priority=50):
    """Arch Linux itself; derivatives with /arch override ``_names``."""

    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.is_dir("arch/boot/x86_64"):
            return None
        found = next(
            (
                (k, i)
                for k, i in _ARCH_KERNELS
                if iso.exists(f"arch/boot/x86_64/{k}") and iso.exists(f"arch/boot/x86_64/{i}")
            ),
            None,
        )
        if found is None:
            return None
        return self._detection(iso, *found)

    def _names(self, iso: IsoView) -> tuple[str, str, str] | None:
        return ("arch", "Arch Linux", "arch")

    def _detection(self, iso: IsoView, kernel: str, initrd: str) -> Detection | None:
        names = self._names(iso)
        if names is None:
            return None
        distro, pretty, grub_class = names
        label = iso.volume_id
        stamp = (iso.read_text("arch/version", limit=64) or "").strip()
        ucode = _ucode(iso, "arch/boot", "intel-ucode.img", "amd-ucode.img")
        main = join("arch/boot/x86_64", initrd)
        return Detection(
            detector=self.name,
            method=BootMethod.archiso,
            distro=distro,
            pretty_name=pretty,
            version=stamp or _label_yyyymm(label),
            arch="x86_64",
            kernel=join("arch/boot/x86_64", kernel),
            initrds=(*ucode, main),
            cmdline=_loop_args("archisobasedir", "arch", "archisolabel", label),
            grub_class=grub_class,
            evidence=(f"/arch/boot/x86_64/{kernel}", str(main), f"volume label {label!r}")
            + tuple(f"separate microcode {p}" for p in ucode),
            persistence="archiso",
        )


class EndeavourOS(ArchIso, name="endeavouros", priority=55):
    def _names(self, iso: IsoView) -> tuple[str, str, str] | None:
        titles = " ".join(item.title for item in read_menu(iso, *_MENUS))
        if iso.volume_id.startswith(("EOS_", "ENDEAVOUROS")) or "EndeavourOS" in titles:
            return ("endeavouros", "EndeavourOS", "endeavouros")
        return None


class SystemRescue(Detector, name="systemrescue", priority=55):
    def probe(self, iso: IsoView) -> Detection | None:
        kernel = iso.first_existing("sysresccd/boot/x86_64/vmlinuz")
        initrd = iso.first_existing("sysresccd/boot/x86_64/sysresccd.img")
        if kernel is None or initrd is None:
            return None
        label = iso.volume_id
        digits = re.search(r"(\d+)(\d{2})$", label)
        version = (iso.read_text("sysresccd/VERSION", limit=64) or "").strip() or (
            f"{digits.group(1)}.{digits.group(2)}" if digits else None
        )
        ucode = _ucode(iso, "sysresccd/boot", "intel_ucode.img", "amd_ucode.img")
        return Detection(
            detector=self.name,
            method=BootMethod.archiso,
            distro="systemrescue",
            pretty_name="SystemRescue",
            version=version,
            arch="x86_64",
            kernel=kernel,
            initrds=(*ucode, initrd),
            cmdline=_loop_args("archisobasedir", "sysresccd", "archisolabel", label),
            grub_class="systemrescue",
            evidence=(str(kernel), str(initrd), f"volume label {label!r}"),
            persistence="archiso",
        )


class Manjaro(Detector, name="manjaro", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.is_dir("manjaro"):
            return None
        kernel = iso.first_existing("boot/vmlinuz-x86_64")
        initrd = iso.first_existing("boot/initramfs-x86_64.img")
        if kernel is None or initrd is None:
            return None
        label = iso.volume_id
        words = label.split("_")
        edition = _manjaro_edition(words[1]) if len(words) >= 3 else None
        digits = words[-1] if words[-1].isdigit() else ""
        version = ".".join((digits[:2], digits[2], digits[3:])) if len(digits) == 4 else None
        ucode = _ucode(iso, "boot", "intel_ucode.img", "amd_ucode.img")
        return Detection(
            detector=self.name,
            method=BootMethod.miso,
            distro="manjaro",
            pretty_name="Manjaro",
            version=version or first_version(label),
            arch="x86_64",
            kernel=kernel,
            initrds=(*ucode, initrd),
            cmdline=_loop_args("misobasedir", "manjaro", "misolabel", label),
            grub_class="manjaro",
            evidence=("/manjaro/", str(kernel), str(initrd), f"volume label {label!r}"),
            edition=edition,
        )


_MANJARO_DESKTOPS = {"kde": "KDE Plasma", "xfce": "Xfce", "gnome": "GNOME"}


def _manjaro_edition(word: str) -> str:
    """'KDE' -> 'KDE Plasma'; a trailing M marks the minimal image: 'KDEM' -> 'KDE Plasma minimal'."""
    lower = word.lower()
    if lower in _MANJARO_DESKTOPS:
        return _MANJARO_DESKTOPS[lower]
    if lower.endswith("m") and lower[:-1] in _MANJARO_DESKTOPS:
        return _MANJARO_DESKTOPS[lower[:-1]] + " minimal"
    return word.capitalize()
