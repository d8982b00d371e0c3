"""The package's regions and the one direction of their imports (docs/architecture.md).

Every module of sik/ belongs to a region; a region may import its own modules and those of
regions below it, never a peer's or one above. Type-only imports count too: they are the same
dependency, paid at type-check time instead of at run time.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Region -> rank. Arrows point from a higher rank to a lower one: CLI -> every region -> core.
# Regions of equal rank are peers and must not import each other.
RANKS = {
    "core": 0,
    "detection": 1,
    "customize": 1,
    "menu": 2,
    "files": 3,
    "drive": 4,
    # `sik try` boots what drive made: it reads a stick's layout and mounts it read-only.
    "vm": 5,
    "cli": 6,
}
# Modules at the top of the package, and the region each belongs to.
TOP_MODULES = {
    "__init__": "core",
    "api": "detection",  # the detector plugins' face
    "testkit": "cli",  # builds ISOs and plans them for plugin authors' tests: above the pipeline
    "__main__": "cli",
}


def region_of(module: str) -> str:
    """``sik.menu.plan`` -> ``menu``; ``sik.api`` -> ``detection``; ``sik`` -> ``core``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "core"
    if parts[1] in RANKS:
        return parts[1]
    if parts[1] in TOP_MODULES:
        return TOP_MODULES[parts[1]]
    raise AssertionError(f"{module} is in no region: add it to RANKS or TOP_MODULES")


def module_name(path: Path, package_root: Path) -> str:
    parts = list(path.relative_to(package_root.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def sik_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found.update(n for n in names if n.split(".")[0] == "sik")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "sik")
    return found


def _resolves(name: str, package_root: Path) -> bool:
    base = package_root.parent / Path(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def violations(package_root: Path) -> list[str]:
    """Every import that runs against the region order, as "importer -> imported" lines."""
    found = []
    for path in sorted(package_root.rglob("*.py")):
        importer = module_name(path, package_root)
        mine = region_of(importer)
        for imported in sorted(sik_imports(path)):
            if not _resolves(imported, package_root):
                continue  # "from sik.x import name": the module sik.x is counted on its own
            theirs = region_of(imported)
            if theirs != mine and RANKS[theirs] >= RANKS[mine]:
                found.append(f"{importer} ({mine}) -> {imported} ({theirs})")
    return found


def test_imports_point_one_way_between_regions() -> None:
    assert violations(ROOT / "sik") == []


def test_an_import_against_the_order_is_found(tmp_path: Path) -> None:
    """The check above can fail: a planted upward import and a peer import are reported."""
    package = tmp_path / "sik"
    for region in ("core", "menu", "detection", "customize"):
        (package / region).mkdir(parents=True)
        (package / region / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "menu" / "plan.py").write_text("from sik.core.model import Plan\n")
    (package / "core" / "model.py").write_text("from sik.menu.plan import plan  # upward\n")
    (package / "detection" / "scan.py").write_text("import sik.customize.hooks  # a peer\n")
    (package / "customize" / "hooks.py").write_text("")
    assert violations(package) == [
        "sik.core.model (core) -> sik.menu.plan (menu)",
        "sik.detection.scan (detection) -> sik.customize.hooks (customize)",
    ]


def test_every_module_is_in_a_region() -> None:
    for path in (ROOT / "sik").rglob("*.py"):
        region_of(module_name(path, ROOT / "sik"))


def _all_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_only_the_testkit_imports_pycdlib() -> None:
    """pycdlib builds ISOs for tests and plugin authors; sik reads ISOs with its own reader."""
    importers = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "sik").rglob("*.py")
        if any(m.startswith("pycdlib") for m in _all_imports(p))
    }
    assert importers <= {"sik/testkit.py"}


def test_the_pure_pipeline_runs_no_program() -> None:
    """Reading ISOs, detecting and planning decide; they never run a program or touch a drive."""
    for stage in (
        "core/model.py",
        "detection/iso.py",
        "detection/detect.py",
        "detection/facts.py",
        "menu/plan.py",
        "menu/render.py",
    ):
        assert not _all_imports(ROOT / "sik" / stage) & {"subprocess", "sik.core.run"}, stage


def test_detectors_use_only_the_public_detector_api() -> None:
    allowed = {"__future__", "sik.api", "re", "dataclasses", "pathlib"}
    for module in (ROOT / "detectors").glob("*.py"):
        assert _all_imports(module) <= allowed, module.name
