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
    "medium",
    "medium_detail",
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
        assert _KEYS | {"menu", "customizations", "secure_boot"} == set(row)
    newer, older = rows["ubuntu-24.04.1-desktop"], rows["ubuntu-22.04.5-desktop"]
    assert newer["menu"] == older["menu"] == {"id": "menu-ubuntu-desktop", "title": "Ubuntu Desktop"}
    # The entry's own title is unchanged: the submenu is a separate field.
    assert newer["title"] == "Ubuntu 24.04.1 LTS Desktop (amd64)"
    assert rows["kali-2024.3-live"]["menu"] is None


def _list_on_a_terminal(stick_root: Path) -> str:
    """`sik list` as a user runs it in a terminal: stdout is a pty, wide enough not to fold."""
    import pty

    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="400")
    process = subprocess.Popen(
        [sys.executable, "-m", "sik", "list", "--stick", str(stick_root)],
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait() == 0, process.stderr.read() if process.stderr else ""
    return b"".join(chunks).decode()


def test_list_table_shows_submenu_then_entry(stick: Stick) -> None:
    shown = _list_on_a_terminal(_stick_with_versions(stick).root)
    assert "Ubuntu Desktop › Ubuntu 24.04.1 LTS Desktop (amd64)" in shown
    assert "Ubuntu Desktop › Ubuntu 22.04.5 LTS Desktop (amd64)" in shown
    assert "Kali Linux 2024.3 Live (amd64)" in shown
    assert "› Kali Linux" not in shown


def test_list_through_a_pipe_gives_one_whole_row_per_iso(stick: Stick) -> None:
    """`sik list | grep NAME` finds the ISO's whole row, however long its values."""
    root = _stick_with_versions(stick).root
    long_name = "a-distribution-with-a-file-name-far-longer-than-eighty-columns-of-a-terminal-1.0.iso"
    (root / "boot" / "iso" / long_name).write_bytes(b"not an ISO")
    result = subprocess.run(
        [sys.executable, "-m", "sik", "list", "--stick", str(root)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="80"),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split("\t")[0] == "file"
    assert len(lines) == 1 + len(_ISOS) + 1  # the header, then one line per ISO
    (row,) = [line for line in lines if long_name in line]
    assert row.split("\t")[0] == long_name and row.split("\t")[-1].startswith("unsupported: ")
    (ubuntu,) = [line for line in lines if line.startswith("ubuntu-24.04.1-desktop")]
    assert "Ubuntu Desktop › Ubuntu 24.04.1 LTS Desktop (amd64)" in ubuntu.split("\t")
