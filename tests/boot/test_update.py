"""`sik install --update` on a stick whose GRUB was damaged: afterwards it boots again under
SeaBIOS and OVMF, and the ISOs, the extension, $HOME and custom.cfg are byte for byte as before."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.model import Firmware
from sik.drive.open_stick import open_stick
from sik.vm.qemu import boot_until
from tests.boot.conftest import MEMTEST_MARKER, SERIAL_MENU, STICK_NAMES, copy_of
from tests.clirun import sik
from tests.fixtures.liveisos import FixtureIsos

# What --update must not touch, relative to the data partition's root.
USER_FILES = (
    f"boot/iso/{STICK_NAMES['memtest']}",
    "boot/sik/custom.cfg",
    "boot/extensions/tools.ExtensionImage",
    "home.img",
)


@dataclass(frozen=True)
class UpdatedStick:
    image: Path
    before: dict[str, str]
    after: dict[str, str]
    update_output: str


def _sik(*args: str | Path) -> str:
    """Every command here exits 0: the stick holds only memtest86+, which gets its entry."""
    return " ".join(sik(*args).output.split())  # unfolded: rich wraps at the terminal width


def _digests(image: Path) -> dict[str, str]:
    with open_stick(image, None) as stick:
        return {rel: hashlib.sha256((stick.root / rel).read_bytes()).hexdigest() for rel in USER_FILES}


def _break_grub(image: Path) -> None:
    """Zero the MBR's boot code and delete normal.mod for both firmwares: neither boots now."""
    with image.open("r+b") as disk:
        disk.write(bytes(440))
    with open_stick(image, None) as stick:
        for platform in ("i386-pc", "x86_64-efi"):
            (stick.grub_dir / platform / "normal.mod").unlink()


@pytest.fixture(scope="module")
def updated(fixture_isos: FixtureIsos, tmp_path_factory: pytest.TempPathFactory) -> UpdatedStick:
    work = tmp_path_factory.mktemp("update")
    image = work / "sik.img"
    memtest = work / STICK_NAMES["memtest"]
    memtest.symlink_to(fixture_isos.memtest)
    _sik("install", "--image", image, "--size", "400M")
    _sik("generate", "--image", image, *SERIAL_MENU)
    _sik("add", "--image", image, memtest)
    with open_stick(image, None) as stick:
        stick.custom_cfg.write_text("menuentry 'my own entry' { true }\n")
        (stick.root / "boot" / "extensions" / "tools.ExtensionImage").write_bytes(os.urandom(4096))
        (stick.root / "home.img").write_bytes(os.urandom(65536))
    _sik("verify", "--record", "--image", image)  # the extension, copied on by hand
    before = _digests(image)
    _break_grub(image)
    output = _sik("install", "--update", "--image", image)
    return UpdatedStick(image, before, _digests(image), output)


def test_update_keeps_isos_extensions_home_and_custom_cfg(updated: UpdatedStick) -> None:
    assert updated.after == updated.before
    assert "GRUB and sik's files refreshed" in updated.update_output
    verified = CliRunner().invoke(app, ["verify", "--image", str(updated.image)])
    assert verified.exit_code == 0, verified.output
    with open_stick(updated.image, None) as stick:
        assert all((stick.grub_dir / p / "normal.mod").is_file() for p in ("i386-pc", "x86_64-efi"))
        # The regenerated menu has the ISO's entry (custom.cfg itself is in the digests above).
        assert "--id iso-memtest86-x64 {" in stick.grub_cfg.read_text()


@pytest.mark.boot
@pytest.mark.parametrize("firmware", list(Firmware))
def test_updated_stick_boots(updated: UpdatedStick, firmware: Firmware, tmp_path: Path) -> None:
    image = copy_of(updated.image, tmp_path)
    _sik("boot-once", STICK_NAMES["memtest"], "--image", image)
    result = boot_until(image, firmware, MEMTEST_MARKER, timeout=240, log_path=tmp_path / "serial.log")
    assert result.found, f"no {MEMTEST_MARKER!r} after {result.seconds:.0f} s:\n{result.log[-3000:]}"


def test_update_refuses_what_is_not_a_sik_stick(tmp_path: Path) -> None:
    plain = tmp_path / "plain.img"
    plain.write_bytes(bytes(200 * 2**20))
    result = CliRunner().invoke(app, ["install", "--update", "--image", str(plain)])
    assert result.exit_code == 1 and "is not a sik disk" in str(result.exception)
    missing = CliRunner().invoke(app, ["install", "--update", "--image", str(tmp_path / "none.img")])
    assert "does not exist" in str(missing.exception)
