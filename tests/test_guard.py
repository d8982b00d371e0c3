"""`sik install DEVICE` guard rails, each refusal driven by real loop devices on this machine.

Where a property cannot be real here (a USB transport, LVM without a device-mapper driver, a
loop device mounted on /home), the test hands sik that input — the udev database, sysfs or
mountinfo it would read — and never replaces sik's own logic.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.run import run
from sik.drive.devices import looks_like_sik, lsblk_json, read_head
from sik.drive.guard import DeviceRefused, SystemView, check_target, parse_mountinfo
from sik.drive.install import _drive_at, guard_device, unmount_all
from sik.drive.layout import partition
from tests.loopdev import loop_device

MIB = 2**20
pytestmark = pytest.mark.root


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[Path]:
    with loop_device(tmp_path / "disk.img", 200 * MIB) as device:
        yield device


def _usb(tmp_path: Path, device: Path) -> Path:
    """A udev database saying ``device`` is on the USB bus, as udev writes it for a stick."""
    udev = tmp_path / "udev"
    udev.mkdir(exist_ok=True)
    devno = (Path("/sys/class/block") / device.name / "dev").read_text().strip()
    (udev / f"b{devno}").write_text("E:ID_BUS=usb\nE:ID_MODEL=Test_Stick\n")
    return udev


def _mount_ext4(device: Path, mountpoint: Path) -> None:
    run(["mkfs.ext4", "-q", "-F", device])
    mountpoint.mkdir()
    run(["mount", device, mountpoint])


def _system_disk() -> Path:
    view = SystemView.read()
    root = next(m for m in view.mounts if m.mountpoint == "/")
    below = view.below_devno(root.devno)
    disks = [n for n in below if not view.blocks[n].parent and not view.blocks[n].slaves]
    assert disks, f"cannot tell which disk holds / ({root})"
    return Path("/dev") / disks[0]


def test_the_disk_holding_the_running_system_is_refused() -> None:
    disk = _system_disk()
    with pytest.raises(DeviceRefused, match=r"holds the running system's /; sik never erases"):
        guard_device(disk, allow_fixed=True, unmount=True)
    result = CliRunner().invoke(app, ["install", str(disk), "--yes", "--allow-fixed-disk", "--unmount"])
    assert result.exit_code == 1 and "holds the running system's /" in str(result.exception)


def test_mounted_filesystem_refused_then_unmounted_with_unmount(tmp_path: Path, loop: Path) -> None:
    mountpoint = tmp_path / "mnt"
    _mount_ext4(loop, mountpoint)
    try:
        with pytest.raises(DeviceRefused, match=f"has mounted filesystems: {mountpoint}$") as refused:
            guard_device(loop, allow_fixed=True, unmount=False)
        assert refused.value.hint == "unmount them, or pass --unmount to let sik do it"
        target = guard_device(loop, allow_fixed=True, unmount=True)
        assert target.mounted == (str(mountpoint),)
        assert unmount_all(loop, target, allow_fixed=True).mounted == ()
        assert not os.path.ismount(mountpoint)
    finally:
        if os.path.ismount(mountpoint):
            run(["umount", mountpoint])


@pytest.mark.parametrize("where", ["/home", "/boot"])
def test_disk_mounted_on_a_system_directory_is_refused(tmp_path: Path, loop: Path, where: str) -> None:
    mountpoint = tmp_path / "mnt"
    _mount_ext4(loop, mountpoint)
    try:
        # The same mount table, as if this loop device were mounted on /home (or /boot).
        mountinfo = Path("/proc/self/mountinfo").read_text().replace(f" {mountpoint} ", f" {where} ")
        view = SystemView.read(mountinfo=mountinfo)
        with pytest.raises(DeviceRefused, match=f"holds the running system's {where}"):
            guard_device(loop, allow_fixed=True, unmount=True, view=view)
    finally:
        run(["umount", mountpoint])


def test_disk_with_active_swap_is_refused(tmp_path: Path) -> None:
    with loop_device(tmp_path / "swap.img", 200 * MIB, sparse=False) as device:
        run(["mkswap", device], capture=True)
        run(["swapon", device])
        try:
            with pytest.raises(DeviceRefused, match="holds active swap"):
                guard_device(device, allow_fixed=True, unmount=True)
        finally:
            run(["swapoff", device])
        assert guard_device(device, allow_fixed=True, unmount=False).mounted == ()


def test_root_inside_an_image_file_protects_the_disk_holding_the_file(
    tmp_path: Path, loop: Path
) -> None:
    outer = tmp_path / "outer"
    _mount_ext4(loop, outer)
    try:
        with loop_device(outer / "root.img", 8 * MIB) as inner:
            devno = (Path("/sys/class/block") / inner.name / "dev").read_text().strip()
            # As if the running system's root were that image file (a live system, a VM disk).
            line = f"999 1 {devno} / / rw - ext4 {inner} rw\n"
            view = SystemView.read(mountinfo=Path("/proc/self/mountinfo").read_text() + line)
            with pytest.raises(DeviceRefused, match="holds the running system's /"):
                guard_device(loop, allow_fixed=True, unmount=True, view=view)
    finally:
        run(["umount", outer])


def test_a_partition_is_refused_with_its_disk_named(loop: Path) -> None:
    partition(loop)  # libparted tells the kernel, which makes /dev/loopNp1..3
    with pytest.raises(DeviceRefused, match=f"is a partition of {loop}$") as refused:
        guard_device(Path(f"{loop}p3"), allow_fixed=True, unmount=True)
    assert refused.value.hint == f"name the whole drive, {loop}"


def _lsblk(device: Path, **changes: object) -> dict[str, Any]:
    """lsblk's real JSON for ``device``, with the facts a loop device cannot have here (a
    removable flag, no rotation, a serial number) changed as a USB drive would report them."""
    data = lsblk_json([str(device)])
    data["blockdevices"][0].update(changes)
    return data


def test_fixed_disk_needs_allow_fixed_disk_usb_flash_drive_does_not(tmp_path: Path, loop: Path) -> None:
    with pytest.raises(DeviceRefused, match=r"is a fixed disk \(unknown transport, a hard disk\)") as no:
        guard_device(loop, allow_fixed=False, unmount=False)
    assert no.value.hint == "pass --allow-fixed-disk if you really mean this disk"
    assert guard_device(loop, allow_fixed=True, unmount=False).drive.path == str(loop)
    udev = _usb(tmp_path, loop)
    flash = _lsblk(loop, rm=True, rota=False)
    target = guard_device(loop, allow_fixed=False, unmount=False, udev_dir=udev, lsblk=flash)
    assert (target.drive.transport, target.drive.model) == ("usb", "Test Stick")


@pytest.mark.parametrize(
    ("facts", "kind"),
    [({"rm": True, "rota": True}, "a hard disk"), ({"rm": False, "rota": False}, "not removable")],
)
def test_a_usb_hard_disk_counts_as_fixed(
    tmp_path: Path, loop: Path, facts: dict[str, bool], kind: str
) -> None:
    """The backup drive on USB: rotational, or not removable media, needs --allow-fixed-disk."""
    udev, lsblk = _usb(tmp_path, loop), _lsblk(loop, **facts)
    with pytest.raises(DeviceRefused, match=rf"is a fixed disk \(usb, {kind}\)"):
        guard_device(loop, allow_fixed=False, unmount=False, udev_dir=udev, lsblk=lsblk)
    guard_device(loop, allow_fixed=True, unmount=False, udev_dir=udev, lsblk=lsblk)


def test_force_no_longer_allows_a_fixed_disk(loop: Path) -> None:
    """--force overwrites an image file; it says nothing about which disk may be erased."""
    before = read_head(loop, 4096)
    result = CliRunner().invoke(app, ["install", str(loop), "--force", "--yes"])
    assert result.exit_code == 1 and "is a fixed disk" in str(result.exception)
    assert read_head(loop, 4096) == before


def test_too_small_device_is_refused(tmp_path: Path) -> None:
    with (
        loop_device(tmp_path / "small.img", 100 * MIB) as device,
        pytest.raises(DeviceRefused, match=r"is too small: 100.0 MiB, a sik stick needs 16\d.0 MiB"),
    ):
        guard_device(device, allow_fixed=True, unmount=False, udev_dir=_usb(tmp_path, device))


def test_not_a_block_device_and_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(DeviceRefused, match="/etc/hostname is not a block device"):
        guard_device(Path("/etc/hostname"), allow_fixed=True, unmount=True)
    with pytest.raises(DeviceRefused, match="/dev/sdzz does not exist"):
        guard_device(Path("/dev/sdzz"), allow_fixed=True, unmount=True)
    with pytest.raises(DeviceRefused, match="/dev/null is not a block device"):
        guard_device(Path("/dev/null"), allow_fixed=True, unmount=True)


def _fake_sysfs(root: Path, loop: Path, holder_mounted_on: str | None) -> tuple[Path, str]:
    """sysfs as the kernel shows an LVM volume (dm-0) on ``loop``: slaves/ and holders/."""
    devno = (Path("/sys/class/block") / loop.name / "dev").read_text().strip()
    for name, dev in ((loop.name, devno), ("dm-0", "254:99")):
        (root / name / "slaves").mkdir(parents=True)
        (root / name / "holders").mkdir()
        (root / name / "dev").write_text(dev + "\n")
    (root / loop.name / "holders" / "dm-0").touch()
    (root / "dm-0" / "slaves" / loop.name).touch()
    mounts = (
        f"50 1 254:99 / {holder_mounted_on} rw - xfs /dev/mapper/vg-lv rw\n" if holder_mounted_on else ""
    )
    return root, mounts


@pytest.mark.parametrize(
    ("mounted_on", "message"),
    [
        (None, r"is in use by dm-0 \(LVM, LUKS or RAID\)"),
        ("/srv", "has mounted filesystems: /srv"),
        ("/", "holds the running system's /"),
    ],
)
def test_lvm_on_the_disk_is_found_through_holders(
    tmp_path: Path, loop: Path, mounted_on: str | None, message: str
) -> None:
    sys_block, mountinfo = _fake_sysfs(tmp_path / "sys", loop, mounted_on)
    view = SystemView.read(mountinfo=mountinfo, swaps="Filename Type\n", sys_block=sys_block)
    with pytest.raises(DeviceRefused, match=message):
        check_target(view, loop, _drive_at(loop, tmp_path), needed=0, allow_fixed=True, unmount=False)


def test_install_asks_for_the_name_and_unmounts_when_told(tmp_path: Path, loop: Path) -> None:
    mountpoint = tmp_path / "mnt"
    _mount_ext4(loop, mountpoint)
    try:
        wrong = CliRunner().invoke(
            app, ["install", str(loop), "--allow-fixed-disk", "--unmount"], input="/dev/sda\n"
        )
        assert wrong.exit_code == 1 and "nothing was changed" in str(wrong.exception)
        assert "Type " + str(loop) in wrong.output and "not removable" not in wrong.output
        assert not looks_like_sik(read_head(loop))
        right = CliRunner().invoke(
            app, ["install", str(loop), "--allow-fixed-disk", "--unmount"], input=f"{loop}\n"
        )
        assert right.exit_code == 0, right.output
        assert looks_like_sik(read_head(loop)) and not os.path.ismount(mountpoint)
    finally:
        if os.path.ismount(mountpoint):
            run(["umount", mountpoint])


def test_mountinfo_escapes_and_odd_names_are_read_as_the_kernel_means_them() -> None:
    line = "36 35 8:17 / /media/my\\040stick\\011x rw - ext4 /dev/sdb1 rw\n"
    (mount,) = parse_mountinfo(line)
    assert (mount.devno, mount.source, mount.mountpoint) == ("8:17", "/dev/sdb1", "/media/my stick\tx")
    odd = parse_mountinfo(os.fsdecode(b"37 35 8:18 / /m/caf\xe9 rw - ext4 /dev/sdb2 rw\n"))
    assert odd[0].mountpoint == os.fsdecode(b"/m/caf\xe9")
