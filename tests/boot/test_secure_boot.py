"""Secure Boot as PCs ship it (OVMF's SMM build, Microsoft's keys, Secure Boot on): sticks made
with the sik CLI start with nothing enrolled, kernels are still verified, an unsigned kernel is
refused in one line and the menu comes back, and after `sik secureboot enroll` (its key and a
test distribution CA enrolled as MOKs) sik's own signed GRUB boots a kernel that CA signed from
an exFAT stick, which the distribution's signed GRUB cannot read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.model import Firmware
from sik.drive.secureboot import REFUSED_LINE
from sik.vm.qemu import BootResult, boot_until, ovmf_secboot, vars_with_moks
from tests.boot.conftest import SERIAL_MENU, copy_of
from tests.fixtures import sbisos
from tests.fixtures.liveisos import FixtureIsos

pytestmark = pytest.mark.boot

SB_ON = "Secure boot enabled"  # Debian's kernel, early in its log
UNSIGNED_ISO = "debian-unsigned-kernel.iso"
TESTCA_ISO = "testdistro-live.iso"
# GRUB's menu, drawn again when an entry returns to it.
MENU_AGAIN = "Use the ^ and v keys"
STUB_MENU = "Enrol keys from this stick"


@dataclass(frozen=True)
class SbSticks:
    ext4: Path  # Debian live, dracut live, an unsigned kernel, memtest86+: nothing to enrol
    exfat: Path  # the test CA's ISO, after `sik secureboot enroll`
    enrolled_vars: Path  # Microsoft's keys + the user's key and the test CA as MOKs
    status: dict[str, str]  # `sik secureboot status --json` of both sticks: file -> verdict


def _sik(*args: str | Path, env: dict[str, str] | None = None) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    assert result.exit_code in (0, 3), f"sik {args[:2]} failed: {result.exception or result.output}"
    return result.stdout


@pytest.fixture(scope="session")
def sb_sticks(fixture_isos: FixtureIsos, tmp_path_factory: pytest.TempPathFactory) -> SbSticks:
    work = tmp_path_factory.mktemp("secureboot")
    ca, signer = sbisos.make_test_ca(work / "ca")
    kernel = next((fixture_isos.live_boot.parent / "boot").glob("vmlinuz-*"))
    unsigned = sbisos.unsigned_copy(kernel, work / "vmlinuz-unsigned")
    resigned = sbisos.resigned_copy(kernel, work / "vmlinuz-testca", signer)
    shim = sbisos.shim_trusting(ca.der.read_bytes(), work / "shimx64.efi")
    efi_img = sbisos.efi_image({"EFI/BOOT/BOOTX64.EFI": shim}, work / "efi.img")
    isos = work / "isos"
    isos.mkdir()
    sbisos.rebuild_iso(fixture_isos.live_boot, isos / UNSIGNED_ISO, {f"live/{kernel.name}": unsigned})
    replace = {"images/pxeboot/vmlinuz": resigned}
    sbisos.rebuild_iso(fixture_isos.dracut_live, isos / TESTCA_ISO, replace, efi_img)

    ext4 = work / "ext4.img"
    _sik("install", "--image", ext4, "--size", "1G", "--fs", "ext4")
    _sik("generate", "--image", ext4, *SERIAL_MENU)
    live = (fixture_isos.live_boot, fixture_isos.dracut_live, fixture_isos.memtest)
    _sik("add", "--image", ext4, *live, isos / UNSIGNED_ISO)

    exfat = work / "exfat.img"
    _sik("install", "--image", exfat, "--size", "1G", "--fs", "exfat")
    _sik("generate", "--image", exfat, *SERIAL_MENU)
    _sik("add", "--image", exfat, isos / TESTCA_ISO)
    home = {"XDG_CONFIG_HOME": str(work / "config")}  # the user's key stays in the test's folder
    _sik("secureboot", "enroll", "--image", exfat, "--no-mokutil", env=home)
    user_cert = work / "config" / "sik" / "secureboot" / "sik-mok.cer"
    enrolled = vars_with_moks(work / "enrolled-vars.fd", [user_cert, ca.der])

    status: dict[str, str] = {}
    for stick in (ext4, exfat):
        found = json.loads(_sik("secureboot", "status", "--image", stick, "--json"))
        for row in found["isos"]:
            if row["secure_boot"] is not None:
                status[row["file"]] = row["secure_boot"]["signer"] or row["secure_boot"]["verdict"]
                status[row["file"] + ":verdict"] = row["secure_boot"]["verdict"]
    return SbSticks(ext4, exfat, enrolled, status)


def _boot(
    stick: Path, tmp_path: Path, marker: str, *, entry: str | None = None, vars_: Path | None = None,
    then: str | None = None, timeout: float = 300,
) -> BootResult:  # fmt: skip
    image = copy_of(stick, tmp_path)
    if entry is not None:
        _sik("boot-once", entry, "--image", image)
    result = boot_until(
        image, Firmware.uefi, marker, timeout=timeout, log_path=tmp_path / "serial.log",
        secboot_vars=vars_ or ovmf_secboot()[1], then=then,
    )  # fmt: skip
    print(f"{entry or stick.name}: {result.seconds:.0f} s to {marker!r}")
    return result


@pytest.mark.parametrize("kind", ["live_boot", "dracut_live"])
def test_debian_signed_kernels_boot_with_nothing_enrolled(
    sb_sticks: SbSticks, fixture_isos: FixtureIsos, kind: str, tmp_path: Path
) -> None:
    iso = getattr(fixture_isos, kind).name
    marker = fixture_isos.markers[kind]
    result = _boot(sb_sticks.ext4, tmp_path, marker, entry=iso)
    assert result.found, f"no {marker!r} after {result.seconds:.0f} s:\n{result.log[-3000:]}"
    assert SB_ON in result.log, "the kernel did not report Secure Boot on"


def test_unsigned_kernel_is_refused_in_one_line_and_the_menu_comes_back(
    sb_sticks: SbSticks, tmp_path: Path
) -> None:
    line = "Secure Boot is on and this kernel is not signed"
    result = _boot(sb_sticks.ext4, tmp_path, line, entry=UNSIGNED_ISO, then=MENU_AGAIN, timeout=180)
    assert result.found, f"no refusal and menu after {result.seconds:.0f} s:\n{result.log[-3000:]}"
    assert "Linux version" not in result.log


def test_signed_sik_grub_boots_a_test_ca_kernel_from_exfat_once_enrolled(
    sb_sticks: SbSticks, fixture_isos: FixtureIsos, tmp_path: Path
) -> None:
    marker = fixture_isos.markers["dracut_live"]
    result = _boot(sb_sticks.exfat, tmp_path, marker, vars_=sb_sticks.enrolled_vars)
    assert result.found, f"no {marker!r} after {result.seconds:.0f} s:\n{result.log[-3000:]}"
    assert SB_ON in result.log
    # Shim accepted sik's GRUB (the only one here that reads exFAT) without a word.
    assert "bad shim signature" not in result.log


def test_exfat_stick_without_enrolment_says_what_to_do(sb_sticks: SbSticks, tmp_path: Path) -> None:
    result = _boot(sb_sticks.exfat, tmp_path, REFUSED_LINE[:60], then=STUB_MENU, timeout=180)
    assert result.found, f"no refusal line after {result.seconds:.0f} s:\n{result.log[-3000:]}"
    assert "you need to load the kernel first" not in result.log


def test_status_names_each_signer(sb_sticks: SbSticks, fixture_isos: FixtureIsos) -> None:
    status = sb_sticks.status
    for kind in ("live_boot", "dracut_live"):
        assert status[getattr(fixture_isos, kind).name] == "Debian Secure Boot Signer 2022 - linux"
        assert status[getattr(fixture_isos, kind).name + ":verdict"] == "trusted"
    assert status[TESTCA_ISO] == sbisos.TEST_SIGNER_NAME
    assert status[TESTCA_ISO + ":verdict"] == "enrol"
    assert status[UNSIGNED_ISO + ":verdict"] == "unsigned"
    assert status[fixture_isos.memtest.name + ":verdict"] == "unsigned"
