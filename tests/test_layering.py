"""Data flows one way (DESIGN.md): each stage imports only what comes before it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_only_the_iso_facade_imports_pycdlib() -> None:
    importers = {
        p.name for p in (ROOT / "sik").glob("*.py") if any(m.startswith("pycdlib") for m in _imports(p))
    }
    assert importers == {"iso.py", "testkit.py"}  # testkit builds ISOs for tests


def test_pure_stages_never_touch_drives_or_programs() -> None:
    forbidden = {"sik.drive", "sik.mount", "sik.bootloader", "sik.run", "sik.cli", "subprocess"}
    for stage in ("model.py", "iso.py", "detect.py", "facts.py", "plan.py", "render.py", "scan.py"):
        assert not _imports(ROOT / "sik" / stage) & forbidden, stage


def test_detectors_use_only_the_public_detector_api() -> None:
    allowed = {
        "__future__",
        "sik.detect",
        "sik.facts",
        "sik.iso",
        "sik.model",
        "re",
        "dataclasses",
        "pathlib",
    }
    for module in (ROOT / "detectors").glob("*.py"):
        assert _imports(module) <= allowed, module.name
