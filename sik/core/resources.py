"""Where sik's own data folders are: beside the package in a source checkout, inside it
when installed from a wheel (pyproject.toml force-includes them under sik/data/)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # sik/, above this core/ folder


def data_dir(name: str) -> Path:
    """One of ``detectors``, ``grub-templates`` or ``overlays``."""
    for candidate in (_PACKAGE / "data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"sik's {name} folder is missing from {_PACKAGE}: reinstall sik")
