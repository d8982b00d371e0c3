"""Text read from an ISO is data (issue 13, item 9): escape sequences in .disk/info or a volume
label never reach the terminal, and a label that starts with '-' never becomes an option of
GRUB's `menuentry`."""

from __future__ import annotations

from pathlib import Path

from sik.core.stick import Stick
from tests.clirun import sik_process
from tests.isobuilder import DEBIAN_LIVE, LOOPBACK, build_iso
from tests.test_hostile import _label, grub_commands

# Retitle the window, turn text red, and a C1 CSI (U+009B) that some terminals obey alone.
ESCAPES = "\x1b]2;owned\x07\x1b[31m\u009b2J"


def test_escape_sequences_from_an_iso_never_reach_the_terminal(stick: Stick) -> None:
    info = f"Debian GNU/Linux 12.11.0 {ESCAPES}- Official amd64 LIVE Binary 20250517\n"
    iso = build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE | {".disk/info": info})
    explained = sik_process("detect", iso, "--explain")
    listed = sik_process("list", "--stick", stick.root)
    for output in (explained.stderr, listed.stdout):
        assert "\x1b" not in output and "\u009b" not in output and "\x07" not in output
    assert "\\x1b]2;owned\\x07" in explained.stderr  # shown, spelt out, not obeyed


def test_a_title_starting_with_a_dash_is_not_a_menuentry_option(stick: Stick) -> None:
    _label(build_iso(stick.iso_dir / "dash.iso", LOOPBACK), "--users=root")
    sik_process("generate", "--stick", stick.root)
    menuentries = [c for c in grub_commands(stick.grub_cfg.read_text()) if c[0] == "menuentry"]
    titles = [c[1] for c in menuentries if "users" in c[1]]
    assert titles == ["ISO --users=root"]


def test_plain_titles_are_unchanged(stick: Stick, tmp_path: Path) -> None:
    build_iso(stick.iso_dir / "debian.iso", DEBIAN_LIVE)
    listed = sik_process("list", "--stick", stick.root)
    assert "Debian GNU/Linux 12.11.0" in listed.stdout and "ISO Debian" not in listed.stdout
