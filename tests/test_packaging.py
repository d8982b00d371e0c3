"""The wheel carries detectors/, grub-templates/ and overlays/: install it into a fresh venv
and run the installed `sik`, far from the source tree. The same venv (one per session: it is
slow to make) also gets the plugin guide's example package, tests/plugin_example, to show a
third-party detector joining through its entry point with no change to sik."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_wombat import WOMBAT_32  # the guide's example (pytest's pythonpath has it)

from sik.core.stick import Stick
from sik.testkit import build_iso

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "tests" / "plugin_example"
MEMTEST_ISO = Path("/usr/lib/memtest86+/memtest86+x64.iso")


@dataclass(frozen=True)
class Venv:
    root: Path
    workdir: Path  # far from the source tree, so nothing is imported from it

    def sik(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.root / "bin" / "sik", *args], cwd=self.workdir, capture_output=True, text=True
        )

    def pip_install(self, *args: str | Path) -> None:
        pip = [self.root / "bin" / "python", "-m", "pip", "install", "-q"]
        subprocess.run([*pip, *args], check=True, cwd=self.workdir)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """sik's wheel in a fresh venv."""
    workdir = tmp_path_factory.mktemp("packaging")
    dist = workdir / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, ROOT],
        check=True,
        cwd=workdir,
    )
    (wheel,) = dist.glob("sik-*.whl")
    env = Venv(workdir / "venv", workdir)
    venv.create(env.root, with_pip=True)
    env.pip_install(wheel)
    return env


def test_wheel_installs_and_runs_from_a_fresh_venv(installed: Venv, tmp_path: Path) -> None:
    where = subprocess.run(
        [installed.root / "bin" / "python", "-c", "import sik; print(sik.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=installed.workdir,
    ).stdout
    assert where.startswith(str(installed.root))
    assert installed.sik("--help").returncode == 0

    detected = installed.sik("detect", MEMTEST_ISO)
    assert "via memtest86+" in detected.stderr, detected.stderr

    stick = _stick(tmp_path, {"memtest.iso": MEMTEST_ISO.read_bytes()})
    generated = installed.sik("generate", "--stick", stick)
    assert generated.returncode == 0, generated.stderr
    # memtest86+'s EFI program is not signed: the menu marks it (docs/secure-boot.md).
    menu = (stick / "boot" / "grub" / "grub.cfg").read_text()
    assert "menuentry 'Memtest86+ (x86_64) [not signed]'" in menu


def _stick(tmp_path: Path, isos: dict[str, bytes]) -> Path:
    stick = tmp_path / "stick"
    stick.mkdir()
    Stick(stick).initialise()
    for name, data in isos.items():
        (stick / "boot" / "iso" / name).write_bytes(data)
    return stick


def test_installed_plugin_recognises_a_family_sik_does_not_know(installed: Venv, tmp_path: Path) -> None:
    iso = build_iso(WOMBAT_32, tmp_path / "wombat-3.2.iso")
    before = installed.sik("detect", iso)
    assert "wombat-3.2.iso: unsupported: no detector recognises this ISO" in before.stderr, before.stderr

    plugged = _with_plugin(installed)
    explained = plugged.sik("detect", iso, "--explain")
    assert explained.returncode == 0, explained.stderr
    lines = explained.stderr.splitlines()
    assert lines[0] == "wombat-3.2.iso: Wombat Linux 3.2 Garden (x86_64) via linux, ISO file"
    assert "  why: wombat wins: the only detector that matched" in lines
    assert "    from entry point wombat (sik_wombat:Wombat)" in lines
    assert '    read /wombat/edition -> "Garden"' in lines
    assert "    cmdline wombat.iso=/boot/iso/wombat-3.2.iso wombat.root=/wombat/wombat.sfs" in lines

    stick = _stick(tmp_path, {"wombat-3.2.iso": iso.read_bytes()})
    listed = plugged.sik("list", "--stick", stick, "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert (row["distribution"], row["version"], row["status"]) == ("Wombat Linux", "3.2", "ok")
    assert plugged.sik("generate", "--stick", stick).returncode == 0
    cfg = (stick / "boot" / "grub" / "grub.cfg").read_text()
    assert "menuentry 'Wombat Linux 3.2 Garden (x86_64)' --class wombat --id iso-wombat-3-2 {" in cfg
    assert "linux (loop)/wombat/vmlinuz-6.1.2 wombat.iso=/boot/iso/wombat-3.2.iso" in cfg


def _with_plugin(installed: Venv) -> Venv:
    """The session's venv after `pip install` of the guide's example package (sik untouched)."""
    installed.pip_install(PLUGIN)
    return installed
