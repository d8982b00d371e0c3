"""Every way of naming a drive goes through the guard rails: `--image /dev/sdX` for the commands
that keep a stick (item 2 of issue 13), `install --image` with a device node (3), the drive
checked again after the prompt (4), and the system disk of a live system (7). Real loop devices
stand for the drives; where a fact cannot be real here (a USB bus, a live medium mounted on
/run/live/medium), sik is handed the input it would read, never a stand-in for its logic."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sik.core.model import FsType
from sik.core.run import run
from sik.drive.devices import lsblk_json, read_head
from sik.drive.guard import DeviceRefused, SystemView, check_target, exclusive
from sik.drive.install import _drive_at, guard_device, install, recheck_device
from sik.drive.layout import read_layout
from tests.clirun import REFUSED, sik_process
from tests.loopdev import loop_device, loops_backed_by

MIB = 2**20
pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def sik_drive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A loop device made into a sik stick by `install`, shared by the tests of this module."""
    work = tmp_path_factory.mktemp("drive")
    with loop_device(work / "disk.img", 300 * MIB) as device:
        install(device, fs=FsType.ext4, size=None)
        yield device


def _mountinfo() -> str:
    return Path("/proc/self/mountinfo").read_text()


def _mounts_of(device: Path) -> list[str]:
    """The mount table's lines for ``device`` and its partitions (others come and go: the
    machine is shared)."""
    pattern = re.compile(rf" {re.escape(os.fspath(device))}(p\d+)? ")
    return [line for line in _mountinfo().splitlines() if pattern.search(line)]


def _partition_node(device: Path, number: int) -> Path:
    """The kernel's node for a partition of a loop device (libparted announced them), or one
    attached at the partition's offset where the kernel made none."""
    node = Path(f"{device}p{number}")
    assert node.exists(), f"libparted announced no partitions of {device}"
    return node


@pytest.fixture
def desktop_mount(sik_drive: Path, tmp_path: Path) -> Iterator[Path]:
    """The data partition mounted the way a desktop does it: its partition node, by itself."""
    mountpoint = tmp_path / "media"
    mountpoint.mkdir()
    run(["mount", _partition_node(sik_drive, 3), mountpoint])
    try:
        yield mountpoint
    finally:
        run(["umount", mountpoint])


def test_image_device_uses_the_mount_the_desktop_made(sik_drive: Path, desktop_mount: Path) -> None:
    """`--image /dev/sdX` on a stick the desktop mounted: no second mount, no loop device; the
    command works through the existing mount, as `--stick` would."""
    before = _mounts_of(sik_drive)
    assert len(before) == 1
    listed = sik_process("--debug", "list", "--image", sik_drive)
    assert "+ losetup" not in listed.stderr and "+ mount" not in listed.stderr, listed.stderr
    generated = sik_process("--debug", "generate", "--image", sik_drive, "--timeout", "7")
    assert "+ losetup" not in generated.stderr and "+ mount" not in generated.stderr
    assert _mounts_of(sik_drive) == before
    assert "timeout = 7" in (desktop_mount / "boot" / "sik" / "sik.toml").read_text()


def test_update_through_image_is_guarded_like_a_device(sik_drive: Path, desktop_mount: Path) -> None:
    """`install --update --image /dev/sdX` runs the guard rails: a mounted stick is refused."""
    before = read_head(sik_drive, 1024 * 1024)
    result = sik_process("install", "--update", "--image", sik_drive, code=REFUSED)
    assert f"{sik_drive} has mounted filesystems: {desktop_mount}" in result.stderr
    assert read_head(sik_drive, 1024 * 1024) == before


def test_a_drive_held_exclusively_elsewhere_is_refused(sik_drive: Path) -> None:
    """What /proc/self/mountinfo cannot show (a mount in another namespace) still holds the
    drive exclusively; sik opens it with O_EXCL and stops."""
    with exclusive(sik_drive):
        listed = sik_process("list", "--image", sik_drive, code=REFUSED)
        assert f"error: {sik_drive} is in use" in listed.stderr
        updated = sik_process("install", "--update", "--image", sik_drive, code=REFUSED)
        assert f"error: {sik_drive} is in use" in updated.stderr
    assert loops_backed_by(sik_drive) == []


def test_image_device_names_a_whole_drive(sik_drive: Path) -> None:
    part = _partition_node(sik_drive, 3)
    result = sik_process("list", "--image", part, code=REFUSED)
    assert f"error: {part} is a partition of {sik_drive}" in result.stderr


def test_install_image_never_replaces_a_device_node(sik_drive: Path, tmp_path: Path) -> None:
    """`install --image` takes a regular file or a new name; a device node (in /dev or not) is
    left as it is, and so is the drive behind it."""
    rdev = sik_drive.stat().st_rdev
    node = tmp_path / "sdX"
    os.mknod(node, stat.S_IFBLK | 0o600, rdev)
    head = read_head(sik_drive, 1024 * 1024)
    for target in (node, sik_drive):
        result = sik_process("install", "--image", target, "--force", code=REFUSED)
        assert f"error: {target} is a drive, not an image file" in result.stderr
        assert stat.S_ISBLK(os.stat(target).st_mode) and os.stat(target).st_rdev == rdev
    assert read_head(sik_drive, 1024 * 1024) == head
    assert read_layout(sik_drive).data_fs is FsType.ext4


def test_a_drive_swapped_at_the_prompt_is_refused(tmp_path: Path) -> None:
    """Check, confirm, check again: another size (a different stick under the same name) or
    another serial number after the prompt stops the install before a byte is written."""
    backing = tmp_path / "disk.img"
    with loop_device(backing, 200 * MIB) as device:
        confirmed = guard_device(device, allow_fixed=True, unmount=False)
        assert recheck_device(device, confirmed, allow_fixed=True).drive == confirmed.drive
        serial = lsblk_json([str(device)])
        serial["blockdevices"][0]["serial"] = "OTHER-STICK"
        with pytest.raises(DeviceRefused, match=r"changed while you confirmed it .*OTHER-STICK"):
            recheck_device(device, confirmed, allow_fixed=True, lsblk=serial)
        os.truncate(backing, 300 * MIB)
        run(["losetup", "--set-capacity", device])
        with pytest.raises(DeviceRefused, match=r"changed while you confirmed it") as refused:
            recheck_device(device, confirmed, allow_fixed=True)
        assert "209715200" in refused.value.message and "314572800" in refused.value.message


@pytest.fixture
def mounted_loop(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    with loop_device(tmp_path / "medium.img", 200 * MIB) as device:
        mountpoint = tmp_path / "mnt"
        mountpoint.mkdir()
        run(["mkfs.ext4", "-q", "-F", device])
        run(["mount", device, mountpoint])
        try:
            yield device, mountpoint
        finally:
            run(["umount", mountpoint])


@pytest.mark.parametrize(
    "where", ["/run/live/medium", "/run/initramfs/live", "/cdrom", "/run/sik/stick"]
)
def test_the_medium_a_live_system_runs_from_is_the_system_disk(
    mounted_loop: tuple[Path, Path], where: str
) -> None:
    device, mountpoint = mounted_loop
    view = SystemView.read(mountinfo=_mountinfo().replace(f" {mountpoint} ", f" {where} "))
    with pytest.raises(DeviceRefused, match=f"holds the running system's {where}"):
        guard_device(device, allow_fixed=True, unmount=True, view=view)


def test_an_overlay_root_resolves_to_the_disks_it_is_built_from(
    mounted_loop: tuple[Path, Path],
) -> None:
    """A live system's / is an overlay of a squashfs (and tmpfs); its device number is an
    anonymous 0:N, so only its lower and upper directories lead to a disk."""
    device, mountpoint = mounted_loop
    dirs = f"lowerdir={mountpoint}/sq,upperdir=/tmp/u,workdir=/tmp/w"
    root = f"900 1 0:99 / / rw - overlay overlay rw,{dirs}\n"
    view = SystemView.read(mountinfo=_mountinfo() + root)
    with pytest.raises(DeviceRefused, match="holds the running system's /"):
        guard_device(device, allow_fixed=True, unmount=True, view=view)


def test_a_zfs_root_protects_every_disk_with_a_pool_member(tmp_path: Path) -> None:
    with loop_device(tmp_path / "disk.img", 200 * MIB) as device:
        zfs_root = "900 1 0:98 / / rw - zfs rpool/ROOT/debian rw\n"
        view = SystemView.read(mountinfo=_mountinfo() + zfs_root)
        data = lsblk_json([str(device)])
        member = {"name": "member", "type": "part", "size": 1, "fstype": "zfs_member"}
        data["blockdevices"][0]["children"] = [member]
        drive = _drive_at(device, tmp_path, data)
        with pytest.raises(DeviceRefused, match="holds the running system's /"):
            check_target(view, device, drive, needed=0, allow_fixed=True, unmount=True)
        check_target(view, device, _drive_at(device, tmp_path), needed=0, allow_fixed=True, unmount=True)


def test_update_through_image_works_on_a_drive_nobody_holds(sik_drive: Path) -> None:
    """The guarded path still does its work: GRUB refreshed while sik holds the drive O_EXCL."""
    result = sik_process("install", "--update", "--image", sik_drive)
    assert "GRUB and sik's files refreshed" in result.stderr
    assert read_layout(sik_drive).data_fs is FsType.ext4 and loops_backed_by(sik_drive) == []


def test_a_data_partition_mounted_through_a_loop_device_is_used_too(
    sik_drive: Path, tmp_path: Path
) -> None:
    """Another sik (or a user) mounted the data partition through a loop device at its offset:
    that mount is found by the offset, and used."""
    layout = read_layout(sik_drive)
    loop = run(
        ["losetup", "--find", "--show", "--offset", str(layout.data.start), sik_drive], capture=True
    )
    device = loop.stdout.decode().strip()
    mountpoint = tmp_path / "other"
    mountpoint.mkdir()
    run(["mount", device, mountpoint])
    try:
        listed = sik_process("--debug", "generate", "--image", sik_drive, "--timeout", "4")
        assert "+ losetup" not in listed.stderr and "+ mount" not in listed.stderr
        assert "timeout = 4" in (mountpoint / "boot" / "sik" / "sik.toml").read_text()
    finally:
        run(["umount", mountpoint])
        run(["losetup", "--detach", device])


def test_another_mounted_partition_is_named(sik_drive: Path, tmp_path: Path) -> None:
    """The desktop mounted the ESP but not the data partition: sik cannot hold the drive
    exclusively, and says which mount stands in the way. (fusefat stands in for vfat, which
    this kernel lacks; as fuseblk, its mount carries the partition's device number.)"""
    esp, node = tmp_path / "esp", _partition_node(sik_drive, 2)
    esp.mkdir()
    run(["fusefat", "-o", f"ro,blkdev,fsname={node}", node, esp])
    try:
        result = sik_process("list", "--image", sik_drive, code=REFUSED)
        assert f"has mounted filesystems other than its data partition: {esp}" in result.stderr
    finally:
        run(["umount", esp])
