"""The wheel carries detectors/, grub-templates/ and overlays/: install it into a fresh venv
and run the installed `sik`, far from the source tree."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMTEST_ISO = Path("/usr/lib/memtest86+/memtest86+x64.iso")


def test_wheel_installs_and_runs_from_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, ROOT],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("sik-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [env_dir / "bin" / "python", "-m", "pip", "install", "-q"]
    subprocess.run([*pip, wheel], check=True, cwd=tmp_path)
    sik = env_dir / "bin" / "sik"

    where = subprocess.run(
        [env_dir / "bin" / "python", "-c", "import sik; print(sik.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert where.startswith(str(env_dir))
    assert subprocess.run([sik, "--help"], cwd=tmp_path, capture_output=True).returncode == 0

    detected = subprocess.run([sik, "detect", MEMTEST_ISO], cwd=tmp_path, capture_output=True, text=True)
    assert "via memtest86+" in detected.stderr, detected.stderr

    stick = tmp_path / "stick"
    (stick / "boot" / "grub").mkdir(parents=True)
    (stick / "boot" / "iso").mkdir()
    (stick / "boot" / "iso" / "memtest.iso").write_bytes(MEMTEST_ISO.read_bytes())
    generated = subprocess.run(
        [sik, "generate", "--stick", stick], cwd=tmp_path, capture_output=True, text=True
    )
    assert generated.returncode == 0, generated.stderr
    assert "menuentry 'Memtest86+ (x86_64)'" in (stick / "boot" / "grub" / "grub.cfg").read_text()
