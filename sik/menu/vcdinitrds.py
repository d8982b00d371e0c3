"""Write the virtual-CD initrds the plan names (sik/customize/vcd.py says what is in them):
one per entry, and the shared bundles of busybox and dmsetup; remove those no entry names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from sik.core.errors import StickError
from sik.core.model import BootEntry, IsoFacts
from sik.core.stick import Stick, write_atomically
from sik.customize.bundle import busybox_members, dmsetup_members
from sik.customize.cpio import Member, cpio_bytes
from sik.customize.vcd import (
    BUSYBOX_INITRD,
    DMSETUP_INITRD,
    VCD_DIR,
    ram_header,
    vcd_initrds,
    vcd_members,
)
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
        written += _write(stick, VCD_DIR / f"{entry.id}.cpio", members)
        if entry.vcd.backing == "ram":
            header = stick.root / (VCD_DIR / f"{entry.id}.ram").relative_to("/")
            if write_atomically(header, ram_header(entry.vcd.identity.size)):
                written.append(header)
    for shared, make in ((BUSYBOX_INITRD, busybox_members), (DMSETUP_INITRD, dmsetup_members)):
        if shared in named:
            written += _write(stick, shared, make())
    return tuple(written)


def _write(stick: Stick, path: PurePosixPath, members: list[Member]) -> list[Path]:
    target = stick.root / path.relative_to("/")
    return [target] if write_atomically(target, cpio_bytes(members)) else []


def forget_other_vcd_initrds(stick: Stick, entries: tuple[BootEntry, ...]) -> None:
    """Remove the virtual-CD initrds of ISOs that left the stick (or no longer need one), once
    the grub.cfg that named them is gone, so the folder holds what grub.cfg names."""
    named = {p for e in entries if e.vcd is not None for p in vcd_initrds(e.id, e.vcd, e.iso)}
    folder = stick.root / VCD_DIR.relative_to("/")
    candidates = (
        [p for p in folder.iterdir() if p.suffix in (".cpio", ".ram")] if folder.is_dir() else []
    )
    for shared in (BUSYBOX_INITRD, DMSETUP_INITRD):
        candidates.append(stick.root / shared.relative_to("/"))
    for path in candidates:
        if stick.on_stick(path) not in named and path.exists():
            path.unlink()
