from __future__ import annotations

from pathlib import Path

import pytest

from sik.core.model import FsType
from sik.core.stick import Stick
from sik.detection.detect import LoadedDetector
from sik.detection.plugins import load_detectors


@pytest.fixture(scope="session")
def detectors() -> tuple[LoadedDetector, ...]:
    return load_detectors()


@pytest.fixture
def stick(tmp_path: Path) -> Stick:
    """A data partition as a plain directory: what `--stick DIR` gives sik."""
    made = Stick(root=tmp_path / "stick", fs=FsType.ext4)
    made.root.mkdir()
    made.initialise()
    return made
