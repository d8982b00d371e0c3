"""Commands import only what they use: `sik --help` and `sik list` start without pycdlib,
pyparted, jinja2 or rich's progress bars, and no command needs pycdlib to read an ISO."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sik.core.stick import Stick
from tests.isobuilder import DEBIAN_LIVE, build_iso

HEAVY = ("pycdlib", "parted", "_ped", "jinja2", "rich.progress", "rich.markdown", "typer.rich_utils")

_RUN = """
import json, runpy, sys
out, sys.argv = sys.argv[1], ["sik", *sys.argv[2:]]
code = 0
try:
    runpy.run_module("sik", run_name="__main__")
except SystemExit as exc:
    code = exc.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""


def _modules_after(tmp_path: Path, *argv: str) -> tuple[int, set[str]]:
    """Run the CLI in a fresh interpreter; return its exit code and every module it loaded."""
    out = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", _RUN, out, *argv], check=False, capture_output=True)
    found = json.loads(out.read_text())
    return found["code"], set(found["modules"])


def _heavy(modules: set[str], allowed: tuple[str, ...] = ()) -> set[str]:
    return {m for m in modules for h in HEAVY if (m == h or m.startswith(h + ".")) and h not in allowed}


def test_help_loads_nothing_heavy(tmp_path: Path) -> None:
    code, modules = _modules_after(tmp_path, "--help")
    assert code == 0
    assert _heavy(modules) == set()
    assert "sik.detection.iso" not in modules and "sik.drive.layout" not in modules


@pytest.mark.parametrize("argv", [["list"], ["list", "--json"]])
def test_list_reads_isos_without_pycdlib_jinja2_or_parted(
    tmp_path: Path, stick: Stick, argv: list[str]
) -> None:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE)
    code, modules = _modules_after(tmp_path, *argv, "--stick", str(stick.root))
    assert code == 0
    assert "sik.detection.iso" in modules  # the ISO was really read ...
    assert _heavy(modules) == set()  # ... by the lazy reader


def test_generate_renders_with_jinja2_but_reads_without_pycdlib(tmp_path: Path, stick: Stick) -> None:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE)
    code, modules = _modules_after(tmp_path, "generate", "--stick", str(stick.root))
    assert code == 0 and stick.grub_cfg.is_file()
    assert _heavy(modules, allowed=("jinja2",)) == set()
    assert "jinja2" in modules


def test_detect_reads_without_pycdlib(tmp_path: Path) -> None:
    iso = build_iso(tmp_path / "d.iso", DEBIAN_LIVE)
    code, modules = _modules_after(tmp_path, "detect", str(iso))
    assert code == 0
    assert _heavy(modules) == set()


def test_warm_generate_loads_no_detector_and_no_jinja2(tmp_path: Path, stick: Stick) -> None:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE)
    code, cold = _modules_after(tmp_path, "generate", "--stick", str(stick.root))
    first = stick.grub_cfg.read_bytes()
    assert code == 0 and "jinja2" in cold and any(m.startswith("sik_builtin_detectors") for m in cold)
    code, warm = _modules_after(tmp_path, "generate", "--stick", str(stick.root))
    assert code == 0 and stick.grub_cfg.read_bytes() == first
    loaded = {m for m in warm if m.startswith(("jinja2", "sik_builtin_detectors"))}
    assert loaded == set() and "importlib.metadata" not in warm
