"""`sik list` names the GRUB submenu an entry sits in: a `menu` field in --json (the existing
keys unchanged) and "Submenu › Entry" in the table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from sik.cli import app
from sik.core.stick import Stick
from tests.layouts import ALL

ROOT = Path(__file__).resolve().parents[1]

# Two Ubuntu desktops share a submenu; Kali stands alone at the top level.
_ISOS = ("ubuntu-24.04.1-desktop", "ubuntu-22.04.5-desktop", "kali-2024.3-live")
_KEYS = {
    "file",
    "distribution",
    "version",
    "arch",
    "method",
    "status",
    "notes",
    "entry",
    "edition",
    "persistence",
    "title",
}


def _stick_with_versions(stick: Stick) -> Stick:
    for name in _ISOS:
        ALL[name].build(stick.iso_dir / f"{name}.iso")
    return stick


def test_list_json_names_the_submenu_of_each_entry(stick: Stick) -> None:
    result = CliRunner().invoke(
        app, ["list", "--stick", str(_stick_with_versions(stick).root), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = {r["file"].removesuffix(".iso"): r for r in json.loads(result.stdout)}
    assert set(rows) == set(_ISOS)
    for row in rows.values():
        assert _KEYS | {"menu", "customizations"} == set(row)
    newer, older = rows["ubuntu-24.04.1-desktop"], rows["ubuntu-22.04.5-desktop"]
    assert newer["menu"] == older["menu"] == {"id": "menu-ubuntu-desktop", "title": "Ubuntu Desktop"}
    # The entry's own title is unchanged: the submenu is a separate field.
    assert newer["title"] == "Ubuntu 24.04.1 LTS Desktop (amd64)"
    assert rows["kali-2024.3-live"]["menu"] is None


def test_list_table_shows_submenu_then_entry(stick: Stick) -> None:
    # A real process, as a user runs it: the table goes to stderr, wide enough not to fold.
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="400")
    result = subprocess.run(
        [sys.executable, "-m", "sik", "list", "--stick", str(_stick_with_versions(stick).root)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Ubuntu Desktop › Ubuntu 24.04.1 LTS Desktop (amd64)" in result.stderr
    assert "Ubuntu Desktop › Ubuntu 22.04.5 LTS Desktop (amd64)" in result.stderr
    assert "Kali Linux 2024.3 Live (amd64)" in result.stderr
    assert "› Kali Linux" not in result.stderr
