"""The pieces of `sik try` that need no VM: the menu entries read from a stick's grub.cfg, the
console classifier on lines real boots print, the overlay that keeps the stick unwritten, and
finding grubenv's bytes on a partition from the filesystem's own allocation data."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.errors import SikError
from sik.core.model import FsType
from sik.drive.open_stick import open_stick_disk
from sik.menu.entries import menu_choices, pick
from sik.menu.grubenv import decode
from sik.vm.console import Stage, Stop, judge
from sik.vm.locate import locate
from sik.vm.overlay import make_overlay, read_from, write_into

ROOT_DIR = Path(__file__).resolve().parents[1]

GRUB_CFG = """\
set timeout=5
if [ -n "$next_entry" ]; then
  set default="$next_entry"
fi
menuentry 'Debian GNU/Linux 12.11.0 (amd64)' --class debian --id iso-debian-12 {
  set iso_path=/boot/iso/debian-live-12.11.0-amd64.iso
  linux (loop)/live/vmlinuz boot=live $sik_once_args
}
submenu 'Ubuntu' --class ubuntu --id ubuntu {
  menuentry 'Ubuntu 24.04.2' --class ubuntu --id iso-ubuntu-24-04-2 {
    set iso_path='/boot/iso/ubuntu 24.04.2.iso'
  }
  menuentry 'Ubuntu 24.04.1' --class ubuntu --id iso-ubuntu-24-04-1 {
    set iso_path=/boot/iso/ubuntu-24.04.1.iso
  }
}
if [ -s "(${sik_data})/boot/sik/SHA256SUMS" ]; then
  menuentry 'Verify stick (SHA-256 of every ISO)' --class verify --id sik-verify {
    echo 'Checking every ISO'
  }
fi
"""


def test_menu_choices_follow_submenus_and_name_their_isos() -> None:
    found = {c.path: (c.title, c.iso) for c in menu_choices(GRUB_CFG)}
    assert found == {
        "iso-debian-12": (
            "Debian GNU/Linux 12.11.0 (amd64)",
            PurePosixPath("/boot/iso/debian-live-12.11.0-amd64.iso"),
        ),
        "ubuntu>iso-ubuntu-24-04-2": ("Ubuntu 24.04.2", PurePosixPath("/boot/iso/ubuntu 24.04.2.iso")),
        "ubuntu>iso-ubuntu-24-04-1": ("Ubuntu 24.04.1", PurePosixPath("/boot/iso/ubuntu-24.04.1.iso")),
        "sik-verify": ("Verify stick (SHA-256 of every ISO)", None),
    }


def test_entries_grub_makes_at_boot_are_not_choices() -> None:
    """The "New ISOs" submenu's entries exist only at boot, with ids GRUB expands then."""
    rendered = (ROOT_DIR / "grub-templates" / "new-isos.j2").read_text()
    assert 'menuentry "$3' in rendered and '--id "new:$3"' in rendered  # what this test is about
    new_isos = """\
function sik_new_iso {
  menuentry "$3: run sik generate on this stick" --class new-iso --id "new:$3" "/boot/iso/$3" {
    echo "sik: $2"
  }
}
"""
    assert [c.path for c in menu_choices(GRUB_CFG + new_isos)] == [
        c.path for c in menu_choices(GRUB_CFG)
    ]


def test_pick_by_id_title_part_or_iso_name() -> None:
    choices = menu_choices(GRUB_CFG)
    assert pick(choices, "iso-ubuntu-24-04-1").path == "ubuntu>iso-ubuntu-24-04-1"
    assert pick(choices, "24.04.2").path == "ubuntu>iso-ubuntu-24-04-2"
    assert pick(choices, "debian-live-12.11.0-amd64.iso").path == "iso-debian-12"
    with pytest.raises(SikError, match="names 2 entries"):
        pick(choices, "ubuntu 24")
    with pytest.raises(SikError, match="no menu entry 'fedora'") as error:
        pick(choices, "fedora")
    assert "iso-debian-12" in str(error.value.hint)


# Lines as the fixtures' boots print them (tests/boot/test_try.py boots them for real).
GRUB = "\x1b[0mWelcome to GRUB!\r\n\x1b[2;24HGNU GRUB  version 2.06-13+deb12u2\r\n"
KERNEL = "[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)\n"
ISO = "[   30.178803] loop0: detected capacity change from 0 to 37944\n"
ROOT = "Begin: Running /scripts/init-bottom ... done.\n"
MARKER = "SIK-FIXTURE-BOOTED live-boot\n"


@pytest.mark.parametrize(
    ("text", "stage", "stop"),
    [
        ("", Stage.none, Stop.timeout),
        (GRUB, Stage.grub, Stop.timeout),
        (GRUB + KERNEL, Stage.kernel, Stop.timeout),
        (GRUB + KERNEL + ISO, Stage.iso, Stop.timeout),
        (GRUB + KERNEL + ISO + ROOT, Stage.root, Stop.timeout),
        (GRUB + KERNEL + ISO + ROOT + MARKER, Stage.userspace, None),
        (GRUB + KERNEL + ISO + ROOT + "\nsik-fixture login: ", Stage.userspace, None),
        (
            GRUB + KERNEL + "[  OK  ] Reached target multi-user.target - Multi-User System.\n",
            Stage.userspace,
            None,
        ),
    ],
)
def test_each_stage_is_read_from_its_own_lines(text: str, stage: Stage, stop: Stop | None) -> None:
    verdict = judge(text, timed_out=True, extra=("SIK-FIXTURE-BOOTED",))
    assert (verdict.stage, verdict.stop) == (stage, stop)


@pytest.mark.parametrize(
    ("tail", "stop", "evidence"),
    [
        (
            "[    3.1] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n",
            Stop.panic,
            "Kernel panic - not syncing",
        ),
        (
            "Warning: Could not boot.\nDropping to debug shell.\n\ndracut:/# ",
            Stop.emergency,
            "Could not boot",
        ),
        (
            "Unable to find a medium containing a live file system\n"
            "BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) built-in shell (ash)\n(initramfs) ",
            Stop.emergency,
            "Unable to find a medium",
        ),
        ("error: bad shim signature.\nPress any key to continue...", Stop.shim, "bad shim signature"),
    ],
)
def test_where_a_boot_stopped_comes_with_its_own_lines(tail: str, stop: Stop, evidence: str) -> None:
    verdict = judge(GRUB + KERNEL + tail, timed_out=False)
    assert (verdict.stage, verdict.stop) == (Stage.kernel, stop)
    assert any(evidence in line for line in verdict.evidence), verdict.evidence


def test_a_grub_error_stops_at_the_menu() -> None:
    text = (
        GRUB
        + "  Booting `Gone'\n\nerror: file `/boot/iso/gone.iso' not found.\nPress any key to continue..."
    )
    verdict = judge(text, timed_out=False)
    assert (verdict.stage, verdict.stop) == (Stage.grub, Stop.grub_error)
    assert "error: file `/boot/iso/gone.iso' not found." in verdict.evidence


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_overlay_takes_writes_and_leaves_its_backing_unchanged(tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(range(256)) * 4096)
    before = _sha(disk)
    overlay = make_overlay(disk, tmp_path / "disk.qcow2")
    write_into(overlay, 5120, b"one-time values")
    assert read_from(overlay, 5120, 15) == b"one-time values"
    assert read_from(overlay, 5135, 4) == bytes(range(256))[5135 % 256 :][:4]
    assert _sha(disk) == before


@pytest.mark.root
@pytest.mark.parametrize("fs", [FsType.ext4, FsType.fat32, FsType.exfat])
def test_grubenv_is_found_where_the_filesystem_keeps_it(fs: FsType, tmp_path: Path) -> None:
    image = tmp_path / "sik.img"
    result = CliRunner().invoke(
        app, ["install", "--image", str(image), "--size", "200M", "--fs", str(fs)]
    )
    assert result.exit_code == 0, result.output
    with open_stick_disk(image, None) as opened:
        env = opened.stick.grubenv.read_bytes()
        offset = locate(opened.stick.grubenv, opened.stick.fs, opened.disk, opened.data_start)
    with image.open("rb") as raw:
        raw.seek(offset)
        assert raw.read(1024) == env
    assert offset > opened.data_start and decode(env) == {}


@pytest.mark.root
def test_a_mounted_stick_is_booted_from_the_disk_that_holds_it(tmp_path: Path) -> None:
    """--stick DIR: the disk behind the mount (here an image file behind a loop device, as
    when a user mounts a stick image by hand) and where its data partition begins."""
    from sik.core.run import run
    from sik.drive.layout import attached, read_layout

    image = tmp_path / "sik.img"
    # ext4: the test mounts the data partition with this kernel, which has no exFAT driver.
    result = CliRunner().invoke(
        app, ["install", "--image", str(image), "--size", "200M", "--fs", "ext4"]
    )
    assert result.exit_code == 0, result.output
    data = read_layout(image).data
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    with attached(image, data) as device:
        run(["mount", "-t", "ext4", device, mountpoint])
        try:
            with open_stick_disk(None, mountpoint) as opened:
                assert (opened.disk, opened.data_start) == (image, data.start)
                found = locate(opened.stick.grubenv, opened.stick.fs, opened.disk, opened.data_start)
                assert found > data.start
        finally:
            run(["umount", mountpoint])
