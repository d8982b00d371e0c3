"""The CLI as a contract: exit codes, and which stream each kind of output goes to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.stick import Stick
from tests.clirun import run_sik as _sik
from tests.isobuilder import DEBIAN_LIVE, build_iso
from tests.loopdev import loop_device

ROOT = Path(__file__).resolve().parents[1]


def test_list_json_goes_to_stdout(stick: Stick) -> None:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE, volume_id="d-live")
    (stick.iso_dir / "x.iso").write_text("junk")
    result = CliRunner().invoke(app, ["list", "--stick", str(stick.root), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["file"]: r for r in json.loads(result.stdout)}
    assert rows["debian.iso"]["method"] == "live-boot" and rows["debian.iso"]["status"] == "ok"
    assert (
        rows["x.iso"]["status"] == "unsupported" and "not an ISO 9660 image" in rows["x.iso"]["notes"][0]
    )


def test_generate_exits_3_when_an_iso_was_skipped(stick: Stick) -> None:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE)
    (stick.iso_dir / "x.iso").write_text("junk")
    result = _sik("generate", "--stick", str(stick.root))
    assert result.returncode == 3, result.stderr
    assert result.stdout == ""
    assert "skipped x.iso: not an ISO 9660 image" in result.stderr
    assert stick.grub_cfg.exists()


def test_file_names_print_literally(stick: Stick) -> None:
    build_iso(stick.iso_dir / "ubuntu-[test].iso", DEBIAN_LIVE)
    result = _sik("list", "--stick", str(stick.root))
    assert result.returncode == 0
    assert "ubuntu-[test].iso" in result.stdout


def test_error_is_one_red_line_and_a_hint_not_a_traceback(tmp_path: Path) -> None:
    result = _sik("list", "--stick", str(tmp_path))
    assert result.returncode == 1
    assert (
        result.stderr.splitlines()[0]
        == f"error: {tmp_path} is not a sik stick (no /boot/sik/stick.toml)"
    )
    assert result.stderr.splitlines()[1].startswith("hint: ")
    assert "Traceback" not in result.stderr


def test_missing_default_image_explains_what_to_do(tmp_path: Path) -> None:
    result = _sik("generate", cwd=tmp_path)
    assert result.returncode == 1
    assert "error: sik.img does not exist" in result.stderr and "sik install" in result.stderr


def test_install_on_a_missing_device_is_refused(tmp_path: Path) -> None:
    result = _sik("install", "/dev/sdzz")
    assert result.returncode == 1 and "error: /dev/sdzz does not exist" in result.stderr


def test_usage_error_exits_2() -> None:
    assert _sik("generate", "--no-such-option").returncode == 2


def test_boot_once_writes_grubenv(stick: Stick) -> None:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE)
    result = CliRunner().invoke(app, ["boot-once", "debian.iso", "--stick", str(stick.root)])
    assert result.exit_code == 0, result.output
    assert b"next_entry=iso-debian\n" in stick.grubenv.read_bytes()
    result = CliRunner().invoke(app, ["boot-once", "nope", "--stick", str(stick.root)])
    assert result.exit_code == 1 and "no menu entry 'nope'" in str(result.exception)


def test_detect_explain_shows_evidence(tmp_path: Path) -> None:
    iso = build_iso(tmp_path / "d.iso", DEBIAN_LIVE)
    result = _sik("detect", str(iso), "--explain")
    assert result.returncode == 0
    assert "debian-live (priority 50): /live/ holds a .squashfs" in result.stderr


def test_version_prints_the_version_on_stdout() -> None:
    from sik import __version__

    result = _sik("--version")
    assert result.returncode == 0 and result.stdout == f"sik {__version__}\n"


def test_an_unknown_filesystem_is_a_usage_error(tmp_path: Path) -> None:
    """--fs is a choice: a wrong value exits 2, as usage errors do, before anything is made."""
    result = _sik("install", "--image", str(tmp_path / "x.img"), "--fs", "ntfs")
    assert result.returncode == 2
    assert "ntfs" in result.stderr and "exfat" in result.stderr
    assert not (tmp_path / "x.img").exists()


@pytest.mark.root
def test_ctrl_c_at_the_prompt_exits_130_and_erases_nothing(tmp_path: Path) -> None:
    """SIGINT while `sik install DEVICE` waits for the device's name to be typed back."""
    with loop_device(tmp_path / "disk.img", 256 * 2**20) as device:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        argv = [sys.executable, "-m", "sik", "install", str(device), "--allow-fixed-disk"]
        pipe = subprocess.PIPE
        with subprocess.Popen(argv, env=env, stdin=pipe, stdout=pipe, stderr=pipe) as proc:
            assert proc.stdout and proc.stderr
            shown = b""
            while b"to erase it" not in shown:
                chunk = os.read(proc.stdout.fileno(), 4096)
                assert chunk, f"no prompt; stderr: {proc.stderr.read().decode()}"
                shown += chunk
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err.decode()
        assert "Traceback" not in err.decode()
    with open(tmp_path / "disk.img", "rb") as disk:
        assert disk.read(2**20) == bytes(2**20)  # no partition table was written
