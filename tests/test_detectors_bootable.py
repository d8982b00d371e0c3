"""KIWI live, iPXE and GRUB rescue images: detection, title and the full planned command line,
on the boot-test fixture ISOs and on reduced real layouts; and what they must not be taken for."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from sik.core.model import BootEntry, BootMethod, Detection, FsType, IsoFile, MenuOptions, ScanResult
from sik.detection.detect import LoadedDetector, Verdict, detect
from sik.detection.iso import open_iso
from sik.menu.plan import plan
from sik.menu.render import render_grub_cfg
from tests.fixtures.liveisos import KIWI_VOLUME_ID, FixtureIsos, build_fixture_isos
from tests.isobuilder import FEDORA_LIVE, LOOPBACK, build_iso

P = PurePosixPath
ISO_DIR = P("/boot/iso")

# Reduced real layouts (file names and volume labels as the distributions ship them).
KIWI_LOADER = {
    "boot/x86_64/loader/linux": b"kernel",
    "boot/x86_64/loader/initrd": b"initrd",
    "LiveOS/squashfs.img": b"hsqs",
    "boot/grub2/grub.cfg": "menuentry 'Live' { linux /boot/x86_64/loader/linux }\n",
    "EFI/BOOT/grub.cfg": "menuentry 'Live' { linux /boot/x86_64/loader/linux }\n",
    "EFI/BOOT/bootx64.efi": b"MZ",
}
TUMBLEWEED_LABEL = "openSUSE_Tumbleweed_KDE_Live"
LEAP_LABEL = "openSUSE_Leap_15.6_GNOME_Live"
FEDORA42_KDE_LABEL = "Fedora-KDE-Live-42-1-1"
FEDORA42_WS_LABEL = "Fedora-WS-Live-42-1-1"
# openSUSE's linuxrc installer: the same loader files, a repository, no /LiveOS.
OPENSUSE_DVD = {
    "boot/x86_64/loader/linux": b"kernel",
    "boot/x86_64/loader/initrd": b"initrd",
    "media.1/products": "/ openSUSE 20250101-0\n",
    "repodata/repomd.xml": "<repomd/>\n",
}
# Fedora's anaconda netinst (lorax): kernel in /images/pxeboot, stage2 in /images/install.img.
FEDORA_NETINST = {
    "images/pxeboot/vmlinuz": b"kernel",
    "images/pxeboot/initrd.img": b"initrd",
    "images/install.img": b"hsqs",
    ".treeinfo": "[general]\nfamily = Fedora\nversion = 42\n",
}
UPSTREAM_IPXE = {
    "isolinux.cfg": "SAY iPXE ISO boot image\nDEFAULT ipxe.lkrn\nLABEL ipxe.lkrn\n KERNEL ipxe.lkrn\n",
    "ipxe.lkrn": b"\xeb\x3c",
    "EFI/BOOT/BOOTX64.EFI": b"MZ",
}
BIOS_ONLY_IPXE = {"ipxe.lkrn": b"\xeb\x3c"}
GRUB_MKRESCUE = {
    "boot/grub/grub.cfg": "menuentry 'Rescue' { echo hello }\n",
    "boot/grub/i386-pc/eltorito.img": b"\0" * 512,
    "boot/grub/i386-pc/normal.mod": b"\x7fELF",
    "boot/grub/x86_64-efi/normal.mod": b"\x7fELF",
    "efi.img": b"\0" * 512,
    "mach_kernel": b"",
}
DEBIAN_LIVE_WITH_GRUB = {
    "live/vmlinuz": b"kernel",
    "live/initrd.img": b"initrd",
    "live/filesystem.squashfs": b"hsqs",
    "boot/grub/grub.cfg": "menuentry 'Live' { linux /live/vmlinuz boot=live }\n",
    "boot/grub/x86_64-efi/normal.mod": b"\x7fELF",
    "efi.img": b"\0" * 512,
}


def _verdict(iso: Path, detectors: tuple[LoadedDetector, ...]) -> Verdict:
    with open_iso(iso) as view:
        return detect(view, detectors)


def _built(tmp_path: Path, files: dict[str, bytes | str], label: str) -> Path:
    return build_iso(tmp_path / "x.iso", files, volume_id=label)


def _entry(detection: Detection, name: str) -> BootEntry:
    scan = ScanResult(IsoFile(ISO_DIR / name, 1), detection)
    made, rows = plan([scan], MenuOptions(), FsType.ext4)
    assert rows[0].status == "ok", rows[0].notes
    return made.entries[0]


def _detection(verdict: Verdict) -> Detection:
    assert isinstance(verdict.outcome, Detection), verdict.outcome
    return verdict.outcome


@pytest.fixture(scope="module")
def fixture_isos() -> FixtureIsos:
    return build_fixture_isos()


# --- the boot-test fixtures -------------------------------------------------------------------


def test_kiwi_fixture_is_kiwi_live(
    fixture_isos: FixtureIsos, detectors: tuple[LoadedDetector, ...]
) -> None:
    found = _detection(_verdict(fixture_isos.kiwi_live, detectors))
    assert found.method is BootMethod.kiwi_live and found.persistence == "kiwi"
    entry = _entry(found, fixture_isos.kiwi_live.name)
    assert entry.title == "openSUSE Tumbleweed KDE Live (x86_64)"
    assert entry.kernel == P("/boot/x86_64/loader/linux")
    assert entry.initrds == (P("/boot/x86_64/loader/initrd"),)
    assert entry.cmdline == (
        f"root=live:CDLABEL={KIWI_VOLUME_ID}",
        "rd.live.image",
        f"iso-scan/filename={ISO_DIR / fixture_isos.kiwi_live.name}",
    )


def test_grub_rescue_fixture_is_a_grub_image(
    fixture_isos: FixtureIsos, detectors: tuple[LoadedDetector, ...]
) -> None:
    verdict = _verdict(fixture_isos.grub_image, detectors)
    found = _detection(verdict)
    assert found.method is BootMethod.grub_image
    assert {"/boot/grub/i386-pc/eltorito.img", "/efi.img", "/mach_kernel"} <= set(found.evidence)
    entry = _entry(found, fixture_isos.grub_image.name)
    assert (entry.title, entry.kernel, entry.cmdline) == ("GRUB image SIK_RESCUE", None, ())


def test_debian_ipxe_iso_gets_both_programs(
    fixture_isos: FixtureIsos, detectors: tuple[LoadedDetector, ...]
) -> None:
    found = _detection(_verdict(fixture_isos.ipxe, detectors))
    assert found.method is BootMethod.ipxe
    assert (found.kernel, found.efi_kernel) == (P("/ipxe.krn"), P("/efi.img"))
    entry = _entry(found, "ipxe.iso")
    assert (entry.title, entry.cmdline) == ("iPXE network boot", ())


# --- reduced real layouts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "title", "distro", "edition"),
    [
        (TUMBLEWEED_LABEL, "openSUSE Tumbleweed KDE Live (x86_64)", "opensuse", "KDE"),
        (LEAP_LABEL, "openSUSE Leap 15.6 GNOME Live (x86_64)", "opensuse", "GNOME"),
        (FEDORA42_KDE_LABEL, "Fedora 42 KDE Plasma Live (x86_64)", "fedora", "KDE Plasma"),
        (FEDORA42_WS_LABEL, "Fedora 42 Workstation Live (x86_64)", "fedora", "Workstation"),
    ],
)
def test_kiwi_live_layouts(
    tmp_path: Path,
    detectors: tuple[LoadedDetector, ...],
    label: str,
    title: str,
    distro: str,
    edition: str,
) -> None:
    found = _detection(_verdict(_built(tmp_path, KIWI_LOADER, label), detectors))
    assert (found.method, found.distro, found.edition) == (BootMethod.kiwi_live, distro, edition)
    entry = _entry(found, "live.iso")
    assert entry.title == title
    assert entry.cmdline == (
        f"root=live:CDLABEL={label}",
        "rd.live.image",
        "iso-scan/filename=/boot/iso/live.iso",
    )


def test_kiwi_label_is_spelt_as_udev_does(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    found = _detection(_verdict(_built(tmp_path, KIWI_LOADER, "My Live 1"), detectors))
    assert found.cmdline[0] == "root=live:CDLABEL=My\\x20Live\\x201"


def test_kiwi_aarch64_loader(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    files = {k.replace("x86_64", "aarch64"): v for k, v in KIWI_LOADER.items()}
    found = _detection(_verdict(_built(tmp_path, files, TUMBLEWEED_LABEL), detectors))
    assert (found.arch, found.kernel) == ("aarch64", P("/boot/aarch64/loader/linux"))


# --- what each must not be taken for ---------------------------------------------------------


def test_fedora_41_dracut_layout_is_not_kiwi(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    verdict = _verdict(_built(tmp_path, FEDORA_LIVE, "Fedora-WS-Live-41-1-4"), detectors)
    assert _detection(verdict).method is BootMethod.dracut_live
    assert [name for name, _, _ in verdict.matches] == ["dracut-live"]


def test_fedora_42_kiwi_layout_is_not_dracut_live(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    verdict = _verdict(_built(tmp_path, KIWI_LOADER, FEDORA42_KDE_LABEL), detectors)
    assert [name for name, _, _ in verdict.matches] == ["kiwi-live"]


@pytest.mark.parametrize(
    ("files", "label"),
    [(OPENSUSE_DVD, "openSUSE-Tumbleweed-DVD-x86_64"), (FEDORA_NETINST, "Fedora-E-dvd-x86_64-42")],
)
def test_installers_are_not_kiwi_live(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...], files: dict[str, bytes | str], label: str
) -> None:
    verdict = _verdict(_built(tmp_path, files, label), detectors)
    assert "kiwi-live" not in [name for name, _, _ in verdict.matches]


def test_kiwi_needs_the_squashfs(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    files = {k: v for k, v in KIWI_LOADER.items() if not k.startswith("LiveOS")}
    verdict = _verdict(_built(tmp_path, files, TUMBLEWEED_LABEL), detectors)
    assert "kiwi-live" not in [name for name, _, _ in verdict.matches]


def test_loopback_cfg_beats_grub_image(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    verdict = _verdict(_built(tmp_path, GRUB_MKRESCUE | LOOPBACK, "SG2D"), detectors)
    assert _detection(verdict).method is BootMethod.loopback_cfg
    assert "grub-image" in [name for name, _, _ in verdict.matches]


def test_distribution_beats_grub_image(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    verdict = _verdict(_built(tmp_path, DEBIAN_LIVE_WITH_GRUB, "d-live 12"), detectors)
    assert _detection(verdict).method is BootMethod.live_boot


def test_grub_cfg_alone_is_not_a_grub_image(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    files = {"boot/grub/grub.cfg": "menuentry 'x' { true }\n", "boot/grub/x86_64-efi/normal.mod": b""}
    verdict = _verdict(_built(tmp_path, files, "PLAIN"), detectors)
    assert "grub-image" not in [name for name, _, _ in verdict.matches]


def test_upstream_ipxe_layout(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    found = _detection(_verdict(_built(tmp_path, UPSTREAM_IPXE, "iPXE"), detectors))
    assert (found.kernel, found.efi_kernel) == (P("/ipxe.lkrn"), P("/EFI/BOOT/BOOTX64.EFI"))


def test_isolinux_without_ipxe_is_not_ipxe(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    files = {"isolinux.cfg": "DEFAULT linux\nLABEL linux\n KERNEL vmlinuz.krn\n", "vmlinuz.krn": b"k"}
    verdict = _verdict(_built(tmp_path, files, "OTHER"), detectors)
    assert "ipxe" not in [name for name, _, _ in verdict.matches]


# --- the menu they get ------------------------------------------------------------------------


def _menu(tmp_path: Path, detectors: tuple[LoadedDetector, ...], files: dict[str, bytes | str]) -> str:
    found = _detection(_verdict(_built(tmp_path, files, "X"), detectors))
    made, _ = plan([ScanResult(IsoFile(ISO_DIR / "x.iso", 1), found)], MenuOptions(), FsType.ext4)
    text = render_grub_cfg(made)
    checker = shutil.which("grub-script-check")
    assert checker, "grub-script-check is missing: run scripts/setup.sh (package grub-common)"
    (tmp_path / "grub.cfg").write_text(text, encoding="utf-8")
    subprocess.run([checker, tmp_path / "grub.cfg"], check=True)
    return text


def test_bios_only_ipxe_says_so_under_uefi(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    text = _menu(tmp_path, detectors, BIOS_ONLY_IPXE)
    assert "This iPXE ISO has no UEFI program: boot it with legacy BIOS." in text
    assert "linux16 (loop)/ipxe.lkrn\n" in text


def test_ipxe_efi_image_is_mounted_then_chainloaded(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    files = {"isolinux.cfg": UPSTREAM_IPXE["isolinux.cfg"], "ipxe.lkrn": b"k", "efi.img": b"\0"}
    text = _menu(tmp_path, detectors, files)
    assert "loopback ipxe_efi (loop)/efi.img\n" in text
    assert "chainloader (ipxe_efi)/EFI/BOOT/BOOTX64.EFI\n" in text


def test_grub_image_menu_reads_the_isos_grub_cfg(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    text = _menu(tmp_path, detectors, GRUB_MKRESCUE)
    start = text.index("menuentry 'GRUB image X'")
    entry = text[start : text.index("\n}\n", start)]
    assert "  set root=(loop)\n" in entry and "  configfile /boot/grub/grub.cfg" in entry
    assert "prefix" not in entry


def test_distribution_carrying_ipxe_is_the_distribution(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    files = DEBIAN_LIVE_WITH_GRUB | {"ipxe.lkrn": b"\xeb\x3c"}
    verdict = _verdict(_built(tmp_path, files, "d-live 12"), detectors)
    assert _detection(verdict).method is BootMethod.live_boot
    assert "ipxe" in [name for name, _, _ in verdict.matches]


def test_ipxe_in_a_distributions_isolinux_directory_is_not_ipxe(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    files = {"isolinux/isolinux.cfg": "LABEL ipxe\n KERNEL ipxe.krn\n", "isolinux/ipxe.krn": b"k"}
    verdict = _verdict(_built(tmp_path, files, "RESCUE"), detectors)
    assert "ipxe" not in [name for name, _, _ in verdict.matches]
