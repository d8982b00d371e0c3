"""`sik try` on one stick made with the CLI, holding fixture ISOs built from Debian's real boot
code, plus the entries a user meets when something is wrong: an ISO deleted after the menu was
written, an initramfs told the wrong ISO path, a kernel without its initramfs. Each boot must
stop at the stage that describes it (not only exit non-zero), and the stick must keep every
byte: `sik try` boots a copy-on-write overlay.

One more stick: a live-boot ISO with its persistence store, replaced (`sik replace`) by a newer
release of the same family, still boots with the store it had.

Cost under TCG on the shared 2-core machine: the module boots nine times, 659 s in all (BIOS:
live-boot 85 s, dracut 54 s, GRUB error 3 s, emergency shell 63 s, panic 26 s; UEFI: live-boot
96 s, dracut 44 s; the replaced ISO with persistence and Secure Boot the rest), up to 20 minutes
when other boots share the two cores.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sik.cli import app
from sik.drive.open_stick import open_stick
from tests.fixtures.liveisos import MARKERS, FixtureIsos

pytestmark = pytest.mark.boot

LIVE = "debian-live-12.11.0-amd64-sik.iso"
NEWER_LIVE = "debian-live-12.12.0-amd64-sik.iso"
FEDORA = "Fedora-Sik-Live-x86_64-40.iso"
GONE = "memtest86+x64.iso"  # on the stick when the menu was written, deleted by hand since
# Every fixture's /sbin/init prints this before powering off: userspace reached.
EXPECT = ("--expect", "SIK-FIXTURE-BOOTED")
BOOT = ("--memory", "1024", "--timeout", "400")
# A user's own entries (custom.cfg): the dracut fixture told to look for its ISO where there is
# none (rd.retry: dracut's documented wait for devices, shortened from 180 s), and the Debian
# kernel booted without its initramfs, which cannot mount any root and panics.
CUSTOM_CFG = """\
menuentry 'Fedora, wrong ISO path' --id wrong-iso-path {
  set iso_path=/boot/iso/Fedora-Sik-Live-x86_64-40.iso
  loopback loop "(${sik_data})${iso_path}"
  linux (loop)/images/pxeboot/vmlinuz root=live:CDLABEL=Fedora-WS-Live-40-1-14 rd.live.image \
iso-scan/filename=/boot/iso/moved-away.iso rd.retry=6 $sik_once_args
  initrd (loop)/images/pxeboot/initrd.img
}
menuentry 'Debian kernel without its initramfs' --id no-initramfs {
  set iso_path=/boot/iso/debian-live-12.11.0-amd64-sik.iso
  loopback loop "(${sik_data})${iso_path}"
  linux (loop)/live/vmlinuz-6.1.0-57-amd64 $sik_once_args
}
"""


@dataclass(frozen=True)
class TryStick:
    image: Path
    sha256: str


def sik(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path) -> Result:
    result = sik(*args)
    assert result.exit_code in (0, 3), f"sik {args[0]}: {result.output}{result.exception or ''}"
    return result


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@pytest.fixture(scope="module")
def try_stick(fixture_isos: FixtureIsos, tmp_path_factory: pytest.TempPathFactory) -> TryStick:
    work = tmp_path_factory.mktemp("try")
    sources = []
    for name, source in (
        (LIVE, fixture_isos.live_boot),
        (FEDORA, fixture_isos.dracut_live),
        (GONE, fixture_isos.memtest),
    ):
        (work / name).symlink_to(source)
        sources.append(work / name)
    image = work / "sik.img"
    # ext4: the live_boot fixture's initrd cannot read exFAT and its squashfs holds no
    # exfat.ko to add (sik warns so); test_boot_filesystems.py boots the exFAT paths.
    ok("install", "--image", image, "--size", "1G", "--fs", "ext4")
    ok("add", "--image", image, *sources)  # no serial options: `sik try` brings its own
    with open_stick(image, None) as stick:
        stick.custom_cfg.write_text(CUSTOM_CFG)
        (stick.iso_dir / GONE).unlink()
    return TryStick(image, sha256(image))


def rows(result: Result) -> dict[str, dict[str, object]]:
    return {str(row["id"]): row for row in json.loads(result.stdout)}


def test_try_all_under_bios_tells_each_entry_how_far_it_got(try_stick: TryStick, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = sik(
        "try", "--all", "--bios", "--json", "--image", try_stick.image, "--logs", logs, *EXPECT, *BOOT
    )
    assert result.exit_code == 1, result.output  # some entries stop short of userspace
    found = rows(result)
    for row in found.values():
        print(f"{row['id']}: {row['stage']}, {row['reason']}, {row['seconds']} s ({row['accelerator']})")
    assert {k: (v["stage"], v["stopped"]) for k, v in found.items()} == {
        "iso-debian-live-12-11-0-amd64-sik": ("userspace", None),
        "iso-fedora-sik-live-x86-64-40": ("userspace", None),
        "iso-memtest86-x64": ("GRUB menu", "GRUB error"),
        "wrong-iso-path": ("kernel started", "initramfs emergency shell"),
        "no-initramfs": ("kernel started", "kernel panic"),
    }
    # The evidence is the console's own lines: GRUB's error, dracut's shell, the panic.
    evidence = {k: "\n".join(map(str, v["evidence"])) for k, v in found.items()}  # type: ignore[call-overload]
    for entry, expected in {
        "iso-memtest86-x64": "error: file `/boot/iso/memtest86+x64.iso' not found",
        "wrong-iso-path": "dracut Warning: Could not boot.",
        "no-initramfs": "Kernel panic - not syncing",
        "iso-debian-live-12-11-0-amd64-sik": MARKERS["live_boot"],
    }.items():
        log = (logs / f"{entry}.bios.log").read_text(errors="replace")
        assert expected in evidence[entry], f"{entry}: {evidence[entry]}\n--- console ---\n{log[-3000:]}"
    assert sha256(try_stick.image) == try_stick.sha256, "sik try wrote to the stick"


@pytest.mark.parametrize("entry", ["Debian GNU/Linux", "Fedora 40 Workstation Live"])
def test_try_boots_to_userspace_under_uefi(try_stick: TryStick, entry: str) -> None:
    result = sik("try", entry, "--image", try_stick.image, *EXPECT, *BOOT)
    assert result.exit_code == 0, result.output
    assert "reached userspace" in result.output
    print(result.output.splitlines()[-1])  # "furthest stage: userspace; N s under TCG ..."
    assert sha256(try_stick.image) == try_stick.sha256, "sik try wrote to the stick"


def test_replaced_live_iso_boots_with_the_persistence_it_had(
    fixture_isos: FixtureIsos, tmp_path: Path
) -> None:
    (tmp_path / LIVE).symlink_to(fixture_isos.live_boot)
    (tmp_path / NEWER_LIVE).symlink_to(fixture_isos.live_boot)  # its next point release
    image = tmp_path / "sik.img"
    # ext4: the live_boot fixture's initrd cannot read exFAT and its squashfs holds no
    # exfat.ko to add (sik warns so); test_boot_filesystems.py boots the exFAT paths.
    ok("install", "--image", image, "--size", "600M", "--fs", "ext4")
    ok("add", "--image", image, tmp_path / LIVE)
    ok("persist", LIVE, "--size", "64M", "--image", image)
    replaced = ok("replace", LIVE, tmp_path / NEWER_LIVE, "--image", image)
    assert "moved to the new ISO" in replaced.output
    ok("verify", "--image", image)
    logs = tmp_path / "logs"
    # live-boot with a persistence store took about 380 s at a load of 4-8 (test_customize.py).
    slow = ("--memory", "1024", "--timeout", "900")
    result = sik("try", NEWER_LIVE, "--bios", "--image", image, "--logs", logs, *EXPECT, *slow)
    assert result.exit_code == 0, result.output
    (log,) = logs.iterdir()
    mounts = [
        line for line in log.read_text(errors="replace").splitlines() if "sik-fixture: mount:" in line
    ]
    # live-boot put the root's upper layer on the store it found by its label.
    assert any(" / overlay " in m and "upperdir=/run/live/persistence/" in m for m in mounts), mounts


def test_try_secure_boot_runs_the_firmware_pcs_ship(try_stick: TryStick, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = sik(
        "try",
        "Debian GNU/Linux",
        "--secure-boot",
        "--image",
        try_stick.image,
        "--logs",
        logs,
        *EXPECT,
        *BOOT,
    )
    assert result.exit_code == 0, result.output
    print(result.output.splitlines()[-1])
    (log,) = logs.iterdir()
    # Debian's signed kernel, started by shim and the signed GRUB, says so.
    assert "secureboot: Secure boot enabled" in log.read_text(errors="replace")
    assert sha256(try_stick.image) == try_stick.sha256, "sik try wrote to the stick"
