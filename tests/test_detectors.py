"""Each built-in detector: a positive case from the real layout, negatives, and ties."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from sik.core.model import BootMethod, Detection, Unsupported
from sik.detection.detect import LoadedDetector, detect
from sik.detection.facts import (
    MenuItem,
    arch_from_name,
    parse_grub_menu,
    parse_isolinux_menu,
    parse_key_values,
    read_treeinfo,
)
from sik.detection.iso import open_iso
from sik.detection.plugins import DetectorConflict, load_detectors
from tests.isobuilder import DEBIAN_LIVE, FEDORA_LIVE, LOOPBACK, MEMTEST, build_iso

P = PurePosixPath


def _detect(
    tmp_path: Path, files: dict[str, bytes | str], detectors: tuple[LoadedDetector, ...], **kw: object
) -> Detection | Unsupported:
    iso = build_iso(tmp_path / "x.iso", files, **kw)  # type: ignore[arg-type]
    with open_iso(iso) as view:
        return detect(view, detectors).outcome


def test_debian_live_picks_newest_kernel_and_reads_disk_info(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    found = _detect(tmp_path, DEBIAN_LIVE, detectors, volume_id="d-live 12.11.0 st amd64")
    assert isinstance(found, Detection)
    assert found.method is BootMethod.live_boot
    assert found.kernel == P("/live/vmlinuz-6.1.0-37-amd64")
    assert found.initrds == (P("/live/initrd.img-6.1.0-37-amd64"),)
    assert found.cmdline == ("boot=live", "components", "findiso={iso}")
    assert (found.pretty_name, found.version, found.arch) == ("Debian GNU/Linux", "12.11.0", "amd64")


def test_debian_live_needs_a_squashfs(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    files = {k: v for k, v in DEBIAN_LIVE.items() if not k.endswith(".squashfs")}
    assert isinstance(_detect(tmp_path, files, detectors), Unsupported)


@pytest.mark.parametrize("rock_ridge,joliet", [(True, False), (False, True), (False, False)])
def test_dracut_live_in_every_namespace(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...], rock_ridge: bool, joliet: bool
) -> None:
    found = _detect(
        tmp_path, FEDORA_LIVE, detectors, volume_id="Fedora-WS-40", rock_ridge=rock_ridge, joliet=joliet
    )
    assert isinstance(found, Detection), found
    assert found.method is BootMethod.dracut_live
    assert found.kernel == P("/images/pxeboot/vmlinuz")
    assert found.cmdline == (
        "root=live:CDLABEL=Fedora-WS-40",
        "rd.live.image",
        "iso-scan/filename={iso}",
    )
    assert (found.pretty_name, found.version, found.edition) == ("Fedora", "40", "Workstation Live")


def test_dracut_label_with_space_is_udev_escaped(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    found = _detect(tmp_path, FEDORA_LIVE, detectors, volume_id="Rocky 9 Live")
    assert isinstance(found, Detection)
    assert found.cmdline[0] == "root=live:CDLABEL=Rocky\\x209\\x20Live"


def test_dracut_live_without_kernel_is_not_claimed(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    files = {"LiveOS/squashfs.img": b"x"}
    assert isinstance(_detect(tmp_path, files, detectors), Unsupported)


def test_memtest_gets_one_program_per_firmware(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    found = _detect(tmp_path, MEMTEST, detectors, volume_id="MT86PLUS_64")
    assert isinstance(found, Detection)
    assert (found.kernel, found.efi_kernel) == (P("/boot/floppy.img"), P("/EFI/BOOT/bootx64.efi"))


def test_memtest_label_alone_is_not_enough(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    assert isinstance(
        _detect(tmp_path, {"README": "x"}, detectors, volume_id="MT86PLUS_64"), Unsupported
    )


def test_real_memtest_iso_from_debian(detectors: tuple[LoadedDetector, ...]) -> None:
    iso = Path("/usr/lib/memtest86+/memtest86+x64.iso")
    assert iso.exists(), "install memtest86+ (scripts/setup.sh does)"
    with open_iso(iso) as view:
        found = detect(view, detectors).outcome
    assert isinstance(found, Detection) and found.method is BootMethod.memtest


def test_loopback_cfg_is_the_fallback(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    found = _detect(tmp_path, LOOPBACK, detectors, volume_id="OTHER_1")
    assert isinstance(found, Detection)
    assert found.method is BootMethod.loopback_cfg
    assert found.pretty_name == "OTHER_1"


def test_specific_detector_beats_loopback_cfg(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    found = _detect(tmp_path, DEBIAN_LIVE | LOOPBACK, detectors)
    assert isinstance(found, Detection) and found.method is BootMethod.live_boot


def test_unknown_iso_says_what_was_looked_for(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    found = _detect(tmp_path, {"README.TXT": "hello"}, detectors, volume_id="MYSTERY")
    assert isinstance(found, Unsupported)
    assert "'MYSTERY'" in found.reason and "loopback.cfg" in found.reason


TWIN = """
from sik.detection.detect import Detector
from sik.core.model import BootMethod, Detection

class Twin(Detector, name="{name}", priority=50):
    def probe(self, iso):
        if not iso.is_dir("live"):
            return None
        return Detection(self.name, BootMethod.live_boot, "twin", "Twin")
"""


def test_two_equally_specific_matches_are_ambiguous(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "twin.py").write_text(TWIN.format(name="twin"), encoding="utf-8")
    found = _detect(tmp_path, DEBIAN_LIVE, load_detectors([plugins]))
    assert isinstance(found, Unsupported)
    assert "ambiguous" in found.reason and "debian-live" in found.reason and "twin" in found.reason


def test_duplicate_detector_name_names_both_sources(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "dup.py").write_text(TWIN.format(name="debian-live"), encoding="utf-8")
    with pytest.raises(DetectorConflict, match=r"debian_live\.py.*dup\.py"):
        load_detectors([plugins])


def test_disabled_detector_is_not_run(tmp_path: Path) -> None:
    found = _detect(tmp_path, DEBIAN_LIVE | LOOPBACK, load_detectors(disabled=["debian-live"]))
    assert isinstance(found, Detection) and found.method is BootMethod.loopback_cfg


def test_isolinux_menu_moves_initrd_out_of_append() -> None:
    text = (
        "default vesamenu.c32\nLABEL live\n  MENU LABEL ^Start Linux Mint 22 Cinnamon 64-bit\n"
        "  KERNEL /casper/vmlinuz\n  APPEND boot=casper initrd=/casper/initrd.lz quiet --\n"
        "label two\n linux /k\n initrd /a,/b\n"
    )
    first, second = parse_isolinux_menu(text)
    assert first == MenuItem(
        "Start Linux Mint 22 Cinnamon 64-bit",
        "/casper/vmlinuz",
        ("/casper/initrd.lz",),
        ("boot=casper", "quiet", "--"),
    )
    assert second == MenuItem("two", "/k", ("/a", "/b"), ())


def test_isolinux_menu_with_a_bare_label_line() -> None:
    """Found by the fuzz test once it failed on a detector's exception (issue 13, item 19):
    casper raised IndexError here."""
    (item,) = parse_isolinux_menu("label\nlabel live\n  kernel /casper/vmlinuz\n")
    assert item == MenuItem("live", "/casper/vmlinuz", (), ())


def test_grub_menu_reads_linux_and_initrd_lines() -> None:
    text = (
        'set timeout=5\nmenuentry "Try Ubuntu" --class ubuntu {\n\tlinux\t/casper/vmlinuz  --- quiet\n'
        "\tinitrd\t/casper/initrd\n}\nsubmenu 'More' {\n  menuentry 'Safe' {\n"
        "    linuxefi /k a=b\n  }\n}\n"
    )
    assert parse_grub_menu(text) == (
        MenuItem("Try Ubuntu", "/casper/vmlinuz", ("/casper/initrd",), ("---", "quiet")),
        MenuItem("Safe", "/k", (), ("a=b",)),
    )


def test_key_values_strip_quotes_and_skip_junk() -> None:
    text = "PRODUCT=pve\nPRODUCTLONG=\"Proxmox VE\"\n# comment\nnot a pair\nNAME='Ubuntu'\n"
    assert parse_key_values(text) == {"PRODUCT": "pve", "PRODUCTLONG": "Proxmox VE", "NAME": "Ubuntu"}


@pytest.mark.parametrize(
    "name,arch",
    [
        ("nixos-minimal-24.11-x86_64", "x86_64"),
        ("Rocky-9-5-x86_64-dvd", "x86_64"),
        ("d-live 12 gn amd64", "amd64"),
        ("ARCH_202411", None),
    ],
)
def test_arch_from_name(name: str, arch: str | None) -> None:
    assert arch_from_name(name) == arch


def test_treeinfo_that_is_not_ini_reads_as_empty(tmp_path: Path) -> None:
    iso = build_iso(tmp_path / "x.iso", {".treeinfo": "no sections here\n[broken"})
    with open_iso(iso) as view:
        assert read_treeinfo(view) == {}
