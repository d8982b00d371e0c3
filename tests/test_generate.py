"""The whole pipeline on a stick directory: bad inputs, reproducibility, atomic writes."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.errors import SikError, StickError, ToolError
from sik.core.model import FsType, MenuOptions
from sik.core.stick import Stick
from sik.detection.detect import LoadedDetector
from sik.files.add import copy_iso, plan_copies
from sik.menu.generate import build_menu, write_menu
from sik.menu.grubenv import decode, encode, read_env, update_env
from tests.isobuilder import DEBIAN_LIVE, FEDORA_LIVE, MEMTEST, build_iso

MEMTEST_ISO = Path("/usr/lib/memtest86+/memtest86+x64.iso")


def _fill(stick: Stick) -> None:
    build_iso(stick.iso_dir / "debian-live.iso", DEBIAN_LIVE, volume_id="d-live 12.11.0 st amd64")
    build_iso(stick.iso_dir / "fedora.iso", FEDORA_LIVE, volume_id="Fedora-WS-Live-40-1-14")
    build_iso(stick.iso_dir / "mem $test's; {x}.iso", MEMTEST, volume_id="MT86PLUS_64")
    (stick.iso_dir / "x.iso").write_bytes(b"not an iso at all\n" * 100)
    build_iso(stick.iso_dir / "big.iso", DEBIAN_LIVE)
    with open(stick.iso_dir / "big.iso", "r+b") as f:
        f.truncate(40000)
    build_iso(stick.iso_dir / "mystery.iso", {"README": "?"}, volume_id="MYSTERY")


def test_each_iso_gets_an_entry_or_a_reason(stick: Stick, detectors: tuple[LoadedDetector, ...]) -> None:
    _fill(stick)
    menu = build_menu(stick, MenuOptions(), detectors)
    rows = {r.scan.iso.path.name: r for r in menu.rows}
    assert {n for n, r in rows.items() if r.entry} == {
        "debian-live.iso",
        "fedora.iso",
        "mem $test's; {x}.iso",
    }
    assert "not an ISO 9660 image" in rows["x.iso"].notes[0]
    assert "truncated ISO image (40000 of" in rows["big.iso"].notes[0]
    assert "no detector recognises" in rows["mystery.iso"].notes[0]
    assert all(r.notes for r in rows.values() if r.entry is None)
    assert "x.iso" not in menu.grub_cfg and "mystery" not in menu.grub_cfg


def test_generate_twice_gives_identical_bytes(
    stick: Stick, detectors: tuple[LoadedDetector, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(stick)
    assert write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    first = stick.grub_cfg.read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for iso in stick.iso_dir.iterdir():
        iso.touch()  # new mtimes must not change the menu
    assert not write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    assert stick.grub_cfg.read_bytes() == first


def test_write_keeps_previous_menu_and_leaves_no_temp_files(
    stick: Stick, detectors: tuple[LoadedDetector, ...]
) -> None:
    write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    empty_menu = stick.grub_cfg.read_bytes()
    _fill(stick)
    write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    assert (stick.grub_dir / "grub.cfg.old").read_bytes() == empty_menu
    assert sorted(p.name for p in stick.grub_dir.iterdir()) == ["grub.cfg", "grub.cfg.old"]


def test_a_menu_grub_cannot_parse_never_replaces_grub_cfg(
    stick: Stick, detectors: tuple[LoadedDetector, ...]
) -> None:
    """GRUB's own grub-script-check reads a new grub.cfg before it replaces the old one."""
    menu = build_menu(stick, MenuOptions(), detectors)
    write_menu(stick, menu)
    before = stick.grub_cfg.read_bytes()
    with pytest.raises(ToolError, match="grub-script-check failed"):
        write_menu(stick, replace(menu, grub_cfg="menuentry 'unclosed' {\n"))
    assert stick.grub_cfg.read_bytes() == before


def test_custom_cfg_is_sourced_and_never_touched(
    stick: Stick, detectors: tuple[LoadedDetector, ...]
) -> None:
    stick.custom_cfg.write_text("menuentry 'Mine' { halt }\n", encoding="utf-8")
    write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    assert stick.custom_cfg.read_text(encoding="utf-8") == "menuentry 'Mine' { halt }\n"
    assert 'source "(${sik_data})/boot/sik/custom.cfg"' in stick.grub_cfg.read_text(encoding="utf-8")


def test_kernel_args_are_appended_and_saved(stick: Stick, detectors: tuple[LoadedDetector, ...]) -> None:
    _fill(stick)
    write_menu(stick, build_menu(stick, MenuOptions(kernel_args=("console=ttyS0,115200",)), detectors))
    text = stick.grub_cfg.read_text(encoding="utf-8")
    assert "findiso=/boot/iso/debian-live.iso console=ttyS0,115200 $sik_once_args\n" in text
    # A later generate without options (what `sik add` does) keeps them.
    write_menu(stick, build_menu(stick, None, detectors))
    assert stick.grub_cfg.read_text(encoding="utf-8") == text


def test_path_with_space_is_unsupported_for_live_boot(
    stick: Stick, detectors: tuple[LoadedDetector, ...]
) -> None:
    build_iso(stick.iso_dir / "debian live.iso", DEBIAN_LIVE)
    (row,) = build_menu(stick, MenuOptions(), detectors).rows
    assert row.entry is None and "rename the file" in row.notes[0]


def test_exfat_stick_warns_for_live_boot(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    stick = Stick(root=tmp_path, fs=FsType.exfat)
    stick.initialise()
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE)
    build_iso(stick.iso_dir / "fedora.iso", FEDORA_LIVE, volume_id="F")
    rows = {r.scan.iso.path.name: r for r in build_menu(stick, MenuOptions(), detectors).rows}
    assert (
        rows["debian.iso"].status == "warning"
        and "cannot read the stick's exfat" in rows["debian.iso"].notes[0]
    )
    assert rows["fedora.iso"].status == "ok"


def test_not_a_stick_is_a_clear_error(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    with pytest.raises(StickError, match="is not a sik stick"):
        build_menu(Stick(root=tmp_path), MenuOptions(), detectors)


def test_add_refuses_a_file_over_4gib_on_fat32_before_copying(tmp_path: Path) -> None:
    stick = Stick(root=tmp_path / "s", fs=FsType.fat32)
    stick.initialise()
    big = tmp_path / "ubuntu-24.04-desktop-amd64.iso"
    with open(big, "wb") as f:
        f.truncate(4 * 2**30 + 1)  # sparse: costs no disk
    with pytest.raises(StickError, match="cannot hold files over 4 GiB"):
        plan_copies(stick, [big])
    assert list(stick.iso_dir.iterdir()) == []


def test_add_refuses_when_the_stick_is_too_small(tmp_path: Path) -> None:
    stick = Stick(root=tmp_path / "s", fs=FsType.ext4)
    stick.initialise()
    huge = tmp_path / "huge.iso"
    with open(huge, "wb") as f:
        f.truncate(shutil.disk_usage(tmp_path).free + 2**30)
    with pytest.raises(StickError, match="not enough space"):
        plan_copies(stick, [huge])


def test_add_copies_atomically(stick: Stick, tmp_path: Path) -> None:
    seen: list[int] = []
    (job,) = plan_copies(stick, [MEMTEST_ISO])
    copy_iso(job, seen.append)
    assert job.target.read_bytes() == MEMTEST_ISO.read_bytes()
    assert sum(seen) == MEMTEST_ISO.stat().st_size
    assert [p.name for p in stick.iso_dir.iterdir()] == [MEMTEST_ISO.name]


def test_add_rejects_non_iso_names(stick: Stick, tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(SikError, match="not an .iso file"):
        plan_copies(stick, [other])


def test_grubenv_is_exactly_one_kib_and_round_trips(tmp_path: Path) -> None:
    env = tmp_path / "grubenv"
    update_env(env, next_entry="iso-debian")
    assert len(env.read_bytes()) == 1024
    assert read_env(env) == {"next_entry": "iso-debian"}
    update_env(env, next_entry=None)
    assert decode(env.read_bytes()) == {} and encode({}) == env.read_bytes()


def test_a_host_boot_folder_is_not_a_stick(tmp_path: Path) -> None:
    """`sik generate --stick /` on a Linux host: /boot/grub/grub.cfg is the host's, not sik's;
    sik refuses it and changes nothing."""
    host = tmp_path / "host"
    (host / "boot" / "grub").mkdir(parents=True)
    (host / "boot" / "grub" / "grub.cfg").write_text("# DO NOT EDIT THIS FILE\nmenuentry 'Debian' {}\n")
    before = sorted(
        (p.relative_to(host), p.read_bytes() if p.is_file() else b"") for p in host.rglob("*")
    )
    for command in (["generate"], ["boot-once", "x"], ["list"]):
        result = CliRunner().invoke(app, [*command, "--stick", str(host)])
        assert result.exit_code == 1
        assert "is not a sik stick" in str(result.exception)
    after = sorted(
        (p.relative_to(host), p.read_bytes() if p.is_file() else b"") for p in host.rglob("*")
    )
    assert after == before


def test_a_stick_of_the_previous_release_is_adopted_on_first_write(tmp_path: Path) -> None:
    """A stick made before the identity file existed: recognised by sik's own grub.cfg and
    /boot/sik/; reading leaves it as it is, the first write gives it an identity."""
    old = Stick(root=tmp_path / "old", fs=FsType.ext4)
    for directory in ("boot/grub", "boot/iso", "boot/sik"):
        (old.root / directory).mkdir(parents=True)
    old.grub_cfg.write_text("# Written by sik 0.1.0. `sik generate` replaces this file\n")
    listed = CliRunner().invoke(app, ["list", "--stick", str(old.root)])
    assert listed.exit_code == 0 and not old.identity_file.exists()
    generated = CliRunner().invoke(app, ["generate", "--stick", str(old.root)])
    assert generated.exit_code == 0, generated.output
    assert old.identity_file.read_text().startswith("# This filesystem is the data partition of a sik")
    first = old.identity_file.read_bytes()
    CliRunner().invoke(app, ["generate", "--stick", str(old.root)])
    assert old.identity_file.read_bytes() == first  # the stick id stays


def test_every_scanned_iso_leaves_a_marker_for_grubs_new_isos_submenu(
    stick: Stick, detectors: tuple[LoadedDetector, ...]
) -> None:
    _fill(stick)
    (stick.iso_dir / "new\nline.iso").write_bytes(b"x")
    write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    # Every scanned file, with an entry or not, except a name grub.cfg cannot hold (GRUB lists
    # it as new, and `sik generate` says why it has no entry).
    scanned = {p.name for p in stick.iso_dir.iterdir()}
    markers = {p.name for p in stick.known_isos_dir.iterdir()}
    assert markers == scanned - {"new\nline.iso"}
    assert all(p.stat().st_size == 0 for p in stick.known_isos_dir.iterdir())
    (stick.iso_dir / "fedora.iso").unlink()
    write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    assert "fedora.iso" not in {p.name for p in stick.known_isos_dir.iterdir()}
