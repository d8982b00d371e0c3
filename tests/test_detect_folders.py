"""A user's folder of detector modules, named in /boot/sik/sik.toml: the guide's example module
dropped into it is picked up by `sik list` and `sik generate`, with no change to sik."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_wombat import WOMBAT_32
from typer.testing import CliRunner

from sik.cli import app
from sik.core.errors import StickError
from sik.core.stick import Stick
from sik.menu.options import DetectorOptions, load_detector_options
from sik.testkit import build_iso

EXAMPLE = Path(__file__).parent / "plugin_example" / "sik_wombat.py"


def _sik(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, str(result.exception or "")


def _rows(stick: Stick) -> dict[str, dict[str, object]]:
    code, out, error = _sik("list", "--stick", stick.root, "--json")
    assert code == 0, error
    return {row["file"]: row for row in json.loads(out)}


@pytest.fixture
def wombat_stick(stick: Stick) -> Stick:
    build_iso(WOMBAT_32, stick.iso_dir / "wombat-3.2.iso")
    return stick


def test_unknown_family_is_unsupported_without_the_folder(wombat_stick: Stick) -> None:
    row = _rows(wombat_stick)["wombat-3.2.iso"]
    assert row["entry"] is None and row["status"] == "unsupported"


def test_folder_relative_to_the_stick_root(wombat_stick: Stick) -> None:
    (wombat_stick.root / "detectors").mkdir()
    shutil.copy(EXAMPLE, wombat_stick.root / "detectors")
    wombat_stick.options_file.write_text('[detectors]\nfolders = ["detectors"]\n', encoding="utf-8")
    row = _rows(wombat_stick)["wombat-3.2.iso"]
    assert (row["distribution"], row["method"], row["entry"]) == (
        "Wombat Linux",
        "linux",
        "iso-wombat-3-2",
    )

    code, _, error = _sik("generate", "--stick", wombat_stick.root, "--timeout", "2")
    assert code == 0, error
    cfg = wombat_stick.grub_cfg.read_text(encoding="utf-8")
    assert "linux (loop)/wombat/vmlinuz-6.1.2 wombat.iso=/boot/iso/wombat-3.2.iso" in cfg
    # Rewriting sik.toml with the new timeout keeps the user's [detectors] table.
    assert load_detector_options(wombat_stick.options_file) == DetectorOptions(("detectors",), ())
    assert "timeout = 2" in wombat_stick.options_file.read_text(encoding="utf-8")


def test_absolute_folder_and_disable(wombat_stick: Stick, tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder)
    wombat_stick.options_file.write_text(
        f'[detectors]\nfolders = ["{folder}"]\ndisable = ["loopback.cfg"]\n', encoding="utf-8"
    )
    assert _rows(wombat_stick)["wombat-3.2.iso"]["entry"] == "iso-wombat-3-2"
    wombat_stick.options_file.write_text(
        f'[detectors]\nfolders = ["{folder}"]\ndisable = ["wombat"]\n', encoding="utf-8"
    )
    assert _rows(wombat_stick)["wombat-3.2.iso"]["entry"] is None


def test_a_missing_folder_is_a_clear_error(stick: Stick) -> None:
    stick.options_file.write_text('[detectors]\nfolders = ["nope"]\n', encoding="utf-8")
    code, _, error = _sik("list", "--stick", stick.root)
    assert code == 1 and "detector folder" in error and "is not a directory" in error


@pytest.mark.parametrize(
    "table",
    ['folders = "detectors"', "disable = [1]", 'folder = ["x"]'],
)
def test_bad_detectors_table_is_refused(stick: Stick, table: str) -> None:
    stick.options_file.write_text(f"[detectors]\n{table}\n", encoding="utf-8")
    with pytest.raises(StickError, match=r"\[detectors\]"):
        load_detector_options(stick.options_file)
