"""Read the customisations a stick holds, and write the secondary initrds its menu names
(the impure half of sik/customize/hooks.py)."""

from __future__ import annotations

from pathlib import Path

from sik.core.model import BootEntry
from sik.core.resources import data_dir
from sik.core.staged import write_file
from sik.core.stick import EXTENSION_SUFFIX, Stick, initrd_on_stick
from sik.customize.cpio import Member, cpio_bytes
from sik.customize.hooks import COMMON_FILES, HOOK_FILES, StickCustomizations, hook_flavour


def read_customizations(stick: Stick) -> StickCustomizations:
    overlay = stick.customize_overlay
    extensions = stick.extension_dir
    persist = stick.persist_root
    return StickCustomizations(
        data_uuid=stick.uuid,
        init=stick.customize_init.is_file(),
        overlay=overlay.is_dir() and any(overlay.iterdir()),
        extensions=tuple(
            sorted(p.name[: -len(EXTENSION_SUFFIX)] for p in extensions.glob("*" + EXTENSION_SUFFIX))
        )
        if extensions.is_dir()
        else (),
        home=stick.home_image.is_file(),
        persistent_stores=frozenset(p.name for p in persist.iterdir() if p.is_dir())
        if persist.is_dir()
        else frozenset(),
    )


def initrd_members(flavour: str, uuid: str | None) -> list[Member]:
    source = data_dir("overlays")
    members = [
        Member.file(dest, (source / src).read_bytes(), executable=exe)
        for src, dest, exe in (*COMMON_FILES, *HOOK_FILES[flavour])
    ]
    members.append(Member.file("sik/stick.conf", f"SIK_UUID={uuid or ''}\n".encode()))
    return members


def write_initrds(stick: Stick, entries: tuple[BootEntry, ...], uuid: str | None) -> tuple[Path, ...]:
    """Write the secondary initrds the entries name (atomically); return the files written."""
    written = []
    for flavour in sorted({f for e in entries if (f := hook_flavour(e.method)) is not None}):
        if not any(initrd_on_stick(flavour) in e.extra_initrds for e in entries):
            continue
        target = stick.initrd_file(flavour)
        if write_file(target, cpio_bytes(initrd_members(flavour, uuid))):
            written.append(target)
    return tuple(written)
