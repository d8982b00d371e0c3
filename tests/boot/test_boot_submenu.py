"""An entry inside a version submenu boots when chosen with `sik boot-once`: GRUB must accept
"submenu_id>entry_id" as next_entry, and the submenu's entries must still find the stick
(sik_data is exported into the submenu's context).

Under SeaBIOS only: the submenu and next_entry are GRUB script, the same text on both
platforms; what differs between firmwares (the loop-mounted kernel's load path) is proven for
every entry kind by test_boot_entries.py under both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sik.core.model import Firmware
from sik.vm.qemu import boot_until
from tests.boot.conftest import SERIAL_MENU
from tests.clirun import sik
from tests.fixtures.liveisos import FixtureIsos

pytestmark = pytest.mark.boot

NEWER = "debian-live-12.11.0-amd64-sik.iso"
OLDER = "debian-live-12.10.0-amd64-sik.iso"
# The fixture's /.disk/info names 12.11.0; the older copy says 12.10.0 in the same bytes.
INFO = b'Debian GNU/Linux 12.11.0 "Bookworm" - Unofficial Live'


def _sik(*args: str | Path) -> str:
    return sik(*args).stdout


def test_entry_in_a_version_submenu_boots_with_boot_once(
    fixture_isos: FixtureIsos, tmp_path: Path
) -> None:
    newer, older = tmp_path / NEWER, tmp_path / OLDER
    newer.symlink_to(fixture_isos.live_boot)
    data = fixture_isos.live_boot.read_bytes()
    assert data.count(INFO) == 1, "the fixture's .disk/info changed: update INFO"
    older.write_bytes(data.replace(INFO, INFO.replace(b"12.11.0", b"12.10.0")))

    image = tmp_path / "sik.img"
    _sik("install", "--image", image, "--size", "512M", "--fs", "ext4")
    _sik("generate", "--image", image, *SERIAL_MENU)
    _sik("add", "--image", image, newer, older)
    rows = {row["file"]: row for row in json.loads(_sik("list", "--image", image, "--json"))}
    assert (rows[NEWER]["version"], rows[OLDER]["version"]) == ("12.11.0", "12.10.0")

    # The older version: second in its submenu, so neither GRUB's default nor a fall-through
    # into the submenu's first entry could boot it by accident.
    _sik("boot-once", OLDER, "--image", image)
    result = boot_until(
        image,
        Firmware.bios,
        fixture_isos.markers["live_boot"],
        timeout=240,
        log_path=tmp_path / "serial.log",
    )
    assert result.found, f"no marker after {result.seconds:.0f} s; serial log:\n{result.log[-3000:]}"
    cmdline = next(line for line in result.log.splitlines() if "sik-fixture: cmdline:" in line)
    assert f"findiso=/boot/iso/{OLDER}" in cmdline, cmdline
