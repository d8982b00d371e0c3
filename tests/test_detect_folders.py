"""A user's folder of detector modules, named in the user's own ~/.config/sik/config.toml or
with --detector-folder: the guide's example module dropped into it is picked up by `sik list`
and `sik generate`, with no change to sik. A folder a stick names is never loaded (issue 13,
item 8), nor one that another user owns or may write."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from test_wombat import WOMBAT_32

from sik.core.errors import StickError
from sik.core.stick import Stick
from sik.menu.options import load_detector_options
from sik.testkit import build_iso
from tests.clirun import sik

EXAMPLE = Path(__file__).parent / "plugin_example" / "sik_wombat.py"


def _sik(*args: str | Path, code: int) -> str:
    """The command's exception (its one red line) when it fails."""
    return str(sik(*args, code=code).exception or "")


def _rows(stick: Stick, *args: str | Path) -> dict[str, dict[str, object]]:
    out = sik("list", "--stick", stick.root, "--json", *args).stdout
    return {row["file"]: row for row in json.loads(out)}


@pytest.fixture
def wombat_stick(stick: Stick) -> Stick:
    build_iso(WOMBAT_32, stick.iso_dir / "wombat-3.2.iso")
    return stick


def test_unknown_family_is_unsupported_without_the_folder(wombat_stick: Stick) -> None:
    row = _rows(wombat_stick)["wombat-3.2.iso"]
    assert row["entry"] is None and row["status"] == "unsupported"


def _folder(where: Path, *modules: Path) -> Path:
    where.mkdir(parents=True)
    for module in modules:
        shutil.copy(module, where)
    return where


def test_a_folder_the_stick_names_is_never_loaded(wombat_stick: Stick, tmp_path: Path) -> None:
    """A stick is data someone may hand you: a module in a folder its sik.toml names would run
    as root under sudo. sik loads none of it, warns, and drops the key when it rewrites."""
    folder = _folder(wombat_stick.root / "detectors", EXAMPLE)
    marker = tmp_path / "ran"
    (folder / "sik_evil.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    wombat_stick.options_file.write_text('[detectors]\nfolders = ["detectors"]\n', encoding="utf-8")
    assert _rows(wombat_stick)["wombat-3.2.iso"]["entry"] is None
    _sik("generate", "--stick", wombat_stick.root, "--timeout", "2", code=3)
    assert not marker.exists()
    assert "folders" not in wombat_stick.options_file.read_text(encoding="utf-8")
    assert "timeout = 2" in wombat_stick.options_file.read_text(encoding="utf-8")


def test_folder_named_in_the_users_own_config(
    wombat_stick: Stick, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    _folder(config / "sik" / "mine", EXAMPLE)  # relative to ~/.config/sik
    (config / "sik" / "config.toml").write_text('[detectors]\nfolders = ["mine"]\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    row = _rows(wombat_stick)["wombat-3.2.iso"]
    assert (row["distribution"], row["method"], row["entry"]) == (
        "Wombat Linux",
        "linux",
        "iso-wombat-3-2",
    )
    _sik("generate", "--stick", wombat_stick.root, code=0)
    cfg = wombat_stick.grub_cfg.read_text(encoding="utf-8")
    assert "linux (loop)/wombat/vmlinuz-6.1.2 wombat.iso=/boot/iso/wombat-3.2.iso" in cfg


def test_folder_on_the_command_line_and_disable(wombat_stick: Stick, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "elsewhere", EXAMPLE)
    flag = ("--detector-folder", folder)
    wombat_stick.options_file.write_text('[detectors]\ndisable = ["loopback.cfg"]\n')
    assert _rows(wombat_stick, *flag)["wombat-3.2.iso"]["entry"] == "iso-wombat-3-2"
    _sik("generate", "--stick", wombat_stick.root, *flag, code=0)
    assert "wombat.iso=/boot/iso/wombat-3.2.iso" in wombat_stick.grub_cfg.read_text()
    wombat_stick.options_file.write_text('[detectors]\ndisable = ["wombat"]\n')
    assert _rows(wombat_stick, *flag)["wombat-3.2.iso"]["entry"] is None


@pytest.mark.parametrize("who", ["folder", "module"])
def test_a_folder_others_own_or_may_write_is_refused(
    wombat_stick: Stick, tmp_path: Path, who: str
) -> None:
    folder = _folder(tmp_path / "shared", EXAMPLE)
    path = folder if who == "folder" else folder / EXAMPLE.name
    os.chown(path, 4242, 4242)
    error = _sik("list", "--stick", wombat_stick.root, "--detector-folder", folder, code=1)
    assert f"{path.name} belongs to user 4242, not to you or root" in error
    os.chown(path, 0, 0)
    path.chmod(0o777 if who == "folder" else 0o666)
    error = _sik("list", "--stick", wombat_stick.root, "--detector-folder", folder, code=1)
    assert f"{path.name} may be written by any user" in error


def test_a_missing_folder_is_a_clear_error(stick: Stick, tmp_path: Path) -> None:
    error = _sik("list", "--stick", stick.root, "--detector-folder", tmp_path / "nope", code=1)
    assert "detector folder" in error and "is not a directory" in error


@pytest.mark.parametrize(
    "table",
    ['folders = "detectors"', "disable = [1]", 'folder = ["x"]'],
)
def test_bad_detectors_table_is_refused(stick: Stick, table: str) -> None:
    stick.options_file.write_text(f"[detectors]\n{table}\n", encoding="utf-8")
    with pytest.raises(StickError, match=r"\[detectors\]"):
        load_detector_options(stick.options_file)
