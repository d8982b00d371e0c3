"""`sik devices`: lsblk's JSON parsed into drives (recorded samples), and a live loop device."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sik.cli import app
from sik.drive.devices import (
    Drive,
    gpt_partition_names,
    list_drives,
    lsblk_json,
    parse_lsblk,
    parse_udev_data,
    read_head,
)
from sik.drive.layout import partition
from tests.loopdev import loop_device

DATA = Path(__file__).parent / "data"


def _sample(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((DATA / name).read_text())
    return data


def test_usb_sik_stick_and_system_disk_from_recorded_lsblk() -> None:
    drives = {d.name: d for d in parse_lsblk(_sample("lsblk-usb-stick.json"))}
    # The DVD drive (rom) and the empty loop device are not candidates.
    assert set(drives) == {"sda", "nvme0n1"}
    stick, system = drives["sda"], drives["nvme0n1"]
    assert (stick.model, stick.size, stick.transport) == ("USB SanDisk 3.2Gen1", 30765219840, "usb")
    assert stick.removable and stick.is_usb and stick.is_sik
    assert [p.partlabel for p in stick.partitions] == ["BIOS boot", "SIK-EFI", "SIK-DATA"]
    assert stick.all_mountpoints == ("/media/me/SIK",)
    assert not system.removable and system.transport == "nvme" and not system.is_sik
    assert system.partitions[0].mountpoints == ("/boot/efi",)


def test_lsblk_before_2_37_strings_and_single_mountpoint() -> None:
    (drive,) = parse_lsblk(_sample("lsblk-2.34-old-format.json"))
    assert drive.size == 15633219584 and drive.removable and not drive.read_only
    assert drive.partitions[0].mountpoints == ("/media/usb",) and not drive.is_sik


def test_udev_database_fills_in_the_transport(tmp_path: Path) -> None:
    (tmp_path / "b8:0").write_text("S:disk/by-id/usb-x\nE:ID_BUS=usb\nE:ID_MODEL=Ultra_Fit\nG:systemd\n")
    assert parse_udev_data((tmp_path / "b8:0").read_text()) == {"ID_BUS": "usb", "ID_MODEL": "Ultra_Fit"}
    data = _sample("lsblk-usb-stick.json")
    for node in data["blockdevices"]:  # type: ignore[attr-defined]
        node["tran"] = node["model"] = node["vendor"] = None  # what lsblk says without udev
    drives = {d.name: d for d in list_drives(data, udev_dir=tmp_path)}
    assert drives["sda"].transport == "usb" and drives["sda"].model == "Ultra Fit"
    assert drives["nvme0n1"].transport is None


def test_gpt_names_of_a_sik_layout(tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    image.write_bytes(b"")
    with image.open("r+b") as f:
        f.truncate(200 * 2**20)
    partition(image)
    assert gpt_partition_names(read_head(image)) == ("BIOS boot", "SIK-EFI", "SIK-DATA")
    assert gpt_partition_names(bytes(4096)) == ()
    assert gpt_partition_names(b"") == ()


def _loop_drive(device: Path) -> Drive:
    (drive,) = list_drives(lsblk_json([str(device)]))
    return drive


def test_live_loop_device_before_and_after_partitioning(tmp_path: Path) -> None:
    with loop_device(tmp_path / "disk.img", 200 * 2**20) as device:
        blank = _loop_drive(device)
        assert (blank.path, blank.kind, blank.size, blank.is_sik) == (
            str(device),
            "loop",
            200 * 2**20,
            False,
        )
        partition(device)
        made = _loop_drive(device)
        assert made.is_sik
        # No udev here, so lsblk knows no partition names: sik read them from the GPT.
        assert [p.path for p in made.partitions] == [f"{device}p{n}" for n in (1, 2, 3)]
        result = CliRunner().invoke(app, ["devices", "--json"])
        assert result.exit_code == 0, result.output
        listed = {d["path"]: d for d in json.loads(result.stdout)}
        assert listed[str(device)]["sik"] is True and listed[str(device)]["size"] == 200 * 2**20


def test_devices_table_shows_the_system_disk() -> None:
    result = CliRunner().invoke(app, ["devices"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    root = next(d for d in list_drives() if "/" in d.all_mountpoints)
    assert root.path in result.output and "mounted on /" in result.output
