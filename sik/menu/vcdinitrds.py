"""Write the virtual-CD initrds the plan names (sik/customize/vcd.py says what is in them):
one per entry, and the shared bundles of busybox and dmsetup; remove those no entry names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from sik.core.errors import StickError
from sik.core.model import BootEntry, IsoFacts
from sik.core.staged import write_file
from sik.core.stick import (
    VCD_BUSYBOX_INITRD,
    VCD_DMSETUP_INITRD,
    Stick,
    ram_header_on_stick,
    vcd_initrd_on_stick,
)
from sik.customize.bundle import busybox_members, dmsetup_members
from sik.customize.cpio import cpio_bytes
from sik.customize.vcd import ram_header, vcd_initrds, vcd_members
from sik.detection.modules import read_module


def write_vcd_initrds(
    stick: Stick, entries: tuple[BootEntry, ...], facts: Mapping[PurePosixPath, IsoFacts]
) -> tuple[Path, ...]:
    written: list[Path] = []
    named: set[PurePosixPath] = set()
    for entry in entries:
        if entry.vcd is None:
            continue
        named.update(vcd_initrds(entry.id, entry.vcd, entry.iso))
        iso_facts = facts.get(entry.iso)
        if iso_facts is None:
            raise StickError(f"{entry.iso.name}: its virtual CD was planned without its facts")
        iso = stick.root / entry.iso.relative_to("/")
        modules = {m.name: read_module(iso, m) for m in entry.vcd.modules}
        members = vcd_members(str(entry.iso), entry.vcd, iso_facts, modules)
        written += _write(stick, vcd_initrd_on_stick(entry.id), cpio_bytes(members))
        if entry.vcd.backing == "ram":
            header = ram_header(entry.vcd.identity.size)
            written += _write(stick, ram_header_on_stick(entry.id), header)
    for shared, make in ((VCD_BUSYBOX_INITRD, busybox_members), (VCD_DMSETUP_INITRD, dmsetup_members)):
        if shared in named:
            written += _write(stick, shared, cpio_bytes(make()))
    return tuple(written)


def _write(stick: Stick, path: PurePosixPath, data: bytes) -> list[Path]:
    target = stick.host(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return [target] if write_file(target, data) else []


def forget_other_vcd_initrds(stick: Stick, entries: tuple[BootEntry, ...]) -> None:
    """Remove the virtual-CD initrds of ISOs that left the stick (or no longer need one), once
    the grub.cfg that named them is gone, so the folder holds what grub.cfg names."""
    named = {p for e in entries if e.vcd is not None for p in vcd_initrds(e.id, e.vcd, e.iso)}
    folder = stick.vcd_initrd_dir
    candidates = (
        [p for p in folder.iterdir() if p.suffix in (".cpio", ".ram")] if folder.is_dir() else []
    )
    candidates += [stick.host(shared) for shared in (VCD_BUSYBOX_INITRD, VCD_DMSETUP_INITRD)]
    for path in candidates:
        if stick.on_stick(path) not in named and path.exists():
            path.unlink()
