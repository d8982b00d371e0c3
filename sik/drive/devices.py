"""The drives a stick could be made on, as lsblk and udev describe them.

lsblk (util-linux) reports every block device with its transport, removable flag, partitions
and mount points as JSON (``lsblk --json --bytes``, see lsblk(8)); udev's database
(``/run/udev/data/b<major>:<minor>``, lines ``E:KEY=VALUE``) adds ``ID_BUS`` and ``ID_MODEL``
where udev runs. Parsing is pure: tests feed recorded lsblk output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sik.core.errors import SikError
from sik.core.run import find_tool, run

LSBLK_COLUMNS = (
    "NAME,PATH,MAJ:MIN,MODEL,VENDOR,SERIAL,SIZE,TRAN,RM,ROTA,HOTPLUG,RO,TYPE,MOUNTPOINTS,FSTYPE,"
    "LABEL,PARTLABEL,PARTUUID"
)
# Device types a stick can be made on: a whole disk, or a loop device over an image file.
_DRIVE_TYPES = ("disk", "loop")
SIK_PARTITION_NAMES = frozenset({"SIK-EFI", "SIK-DATA"})  # sik.drive.layout.Role's GPT names
UDEV_DATA = Path("/run/udev/data")


@dataclass(frozen=True)
class Partition:
    path: str
    size: int
    fstype: str | None
    label: str | None  # the filesystem's label
    partlabel: str | None  # the GPT partition name
    mountpoints: tuple[str, ...]


@dataclass(frozen=True)
class Drive:
    name: str  # kernel name, e.g. sdb, loop3
    path: str
    devno: str  # "major:minor"
    model: str | None
    size: int
    transport: str | None  # usb, sata, nvme, … (lsblk's TRAN, or udev's ID_BUS)
    removable: bool
    hotplug: bool
    read_only: bool
    kind: str  # lsblk TYPE: disk or loop
    partitions: tuple[Partition, ...]
    mountpoints: tuple[str, ...]  # of the whole device itself
    is_sik: bool
    rotational: bool = False  # spinning platters: a hard disk, even behind a USB bridge
    serial: str | None = None

    @property
    def all_mountpoints(self) -> tuple[str, ...]:
        return self.mountpoints + tuple(m for p in self.partitions for m in p.mountpoints)

    @property
    def is_usb(self) -> bool:
        return self.transport == "usb"


def _mounts(node: Mapping[str, Any]) -> tuple[str, ...]:
    # lsblk 2.37+ has MOUNTPOINTS (a list, with null for "not mounted"); older ones MOUNTPOINT.
    points = node.get("mountpoints")
    if points is None:
        points = [node.get("mountpoint")]
    return tuple(p for p in points if p)


def _flag(value: object) -> bool:
    # lsblk writes booleans in JSON since 2.37, "0"/"1" strings before.
    return value in (True, "1", 1)


def _text(value: object) -> str | None:
    return str(value).strip() or None if value is not None else None


def _partition(node: Mapping[str, Any]) -> Partition:
    return Partition(
        path=str(node.get("path") or f"/dev/{node['name']}"),
        size=int(node.get("size") or 0),
        fstype=_text(node.get("fstype")),
        label=_text(node.get("label")),
        partlabel=_text(node.get("partlabel")),
        mountpoints=_mounts(node),
    )


def parse_lsblk(data: Mapping[str, Any]) -> tuple[Drive, ...]:
    """Drives from ``lsblk --json --bytes -o LSBLK_COLUMNS`` output; empty devices (an unused
    loop or zram device, a card reader without a card) are left out."""
    drives = []
    for node in data.get("blockdevices", []):
        size = int(node.get("size") or 0)
        if node.get("type") not in _DRIVE_TYPES or size == 0:
            continue
        partitions = tuple(_partition(c) for c in node.get("children", []) if c.get("type") == "part")
        model = " ".join(filter(None, (_text(node.get("vendor")), _text(node.get("model"))))) or None
        drives.append(
            Drive(
                name=str(node["name"]),
                path=str(node.get("path") or f"/dev/{node['name']}"),
                devno=str(node.get("maj:min") or ""),
                model=model,
                size=size,
                transport=_text(node.get("tran")),
                removable=_flag(node.get("rm")),
                hotplug=_flag(node.get("hotplug")),
                read_only=_flag(node.get("ro")),
                kind=str(node["type"]),
                partitions=partitions,
                mountpoints=_mounts(node),
                is_sik={p.partlabel for p in partitions} >= SIK_PARTITION_NAMES,
                rotational=_flag(node.get("rota")),
                serial=_text(node.get("serial")),
            )
        )
    return tuple(drives)


def parse_udev_data(text: str) -> dict[str, str]:
    """Properties from one udev database file: lines ``E:KEY=VALUE`` (the rest is not ours)."""
    props = {}
    for line in text.splitlines():
        if line.startswith("E:") and "=" in line:
            key, value = line[2:].split("=", 1)
            props[key] = value
    return props


def udev_properties(devno: str, data_dir: Path = UDEV_DATA) -> dict[str, str]:
    """udev's properties of block device ``major:minor``; empty where udev does not run."""
    try:
        return parse_udev_data((data_dir / f"b{devno}").read_text(errors="replace"))
    except OSError:
        return {}


def with_udev(drive: Drive, props: Mapping[str, str]) -> Drive:
    """Fill in what lsblk left out from udev's properties (lsblk itself reads them through
    libudev, but not in containers or on systems without udev)."""
    transport = drive.transport or _text(props.get("ID_BUS"))
    model = drive.model or _text(props.get("ID_MODEL", "").replace("_", " "))
    serial = drive.serial or _text(props.get("ID_SERIAL_SHORT"))
    return replace(drive, transport=transport, model=model, serial=serial)


def gpt_partition_names(head: bytes, sector: int = 512) -> tuple[str, ...]:
    """The partition names in a GPT, read from the first sectors of a disk (UEFI 2.10, 5.3):
    header at LBA 1, entries of ``entry_size`` bytes from LBA ``entries_lba``, the name as
    UTF-16LE at byte 56 of each. Used where a disk's partitions have no kernel nodes (a loop
    device sik attached without partition scanning)."""
    header = head[sector : sector + 92]
    if len(header) < 92 or header[:8] != b"EFI PART":
        return ()
    entries_lba = int.from_bytes(header[72:80], "little")
    count = min(int.from_bytes(header[80:84], "little"), 128)
    entry_size = int.from_bytes(header[84:88], "little")
    if entry_size < 128:
        return ()
    names = []
    for index in range(count):
        start = entries_lba * sector + index * entry_size
        entry = head[start : start + 128]
        if len(entry) < 128 or not any(entry[:16]):  # short read, or an unused entry
            continue
        names.append(entry[56:128].decode("utf-16-le", errors="replace").rstrip("\0"))
    return tuple(names)


# Enough for the header and 128 entries of 128 bytes on a 512-byte-sector disk (34 sectors).
GPT_HEAD_BYTES = 34 * 512


def read_head(path: str | os.PathLike[str], size: int = GPT_HEAD_BYTES) -> bytes:
    try:
        with open(path, "rb") as disk:
            return disk.read(size)
    except OSError:
        return b""


def looks_like_sik(head: bytes) -> bool:
    return set(gpt_partition_names(head)) >= SIK_PARTITION_NAMES


def lsblk_json(devices: Sequence[str] = ()) -> dict[str, Any]:
    lsblk = find_tool("lsblk", reason="list drives", hint="install util-linux")
    argv = [os.fspath(lsblk), "--json", "--bytes", "--output", LSBLK_COLUMNS, *devices]
    out = run(argv, capture=True).stdout
    try:
        data: dict[str, Any] = json.loads(out)
    except ValueError as exc:
        raise SikError(f"lsblk printed no JSON: {exc}", hint="sik needs util-linux 2.27+") from exc
    return data


def list_drives(data: Mapping[str, Any] | None = None, udev_dir: Path = UDEV_DATA) -> tuple[Drive, ...]:
    """Every drive on this machine (or in ``data``), with udev's properties and a look at the
    GPT where lsblk shows no sik partition names."""
    drives = []
    for drive in parse_lsblk(data if data is not None else lsblk_json()):
        drive = with_udev(drive, udev_properties(drive.devno, udev_dir))
        # Without udev, lsblk knows no partition names; the GPT itself has them.
        if not drive.is_sik:
            drive = replace(drive, is_sik=looks_like_sik(read_head(drive.path)))
        drives.append(drive)
    return tuple(drives)


def drive_json(drive: Drive) -> dict[str, object]:
    return {
        "path": drive.path,
        "model": drive.model,
        "size": drive.size,
        "transport": drive.transport,
        "removable": drive.removable,
        "rotational": drive.rotational,
        "serial": drive.serial,
        "type": drive.kind,
        "sik": drive.is_sik,
        "mountpoints": list(drive.mountpoints),
        "partitions": [
            {
                "path": p.path,
                "size": p.size,
                "fstype": p.fstype,
                "label": p.label,
                "partlabel": p.partlabel,
                "mountpoints": list(p.mountpoints),
            }
            for p in drive.partitions
        ],
    }


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"
