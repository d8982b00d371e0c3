"""Read the customisations a stick holds, and write the secondary initrds its menu names
(the impure half of sik/customize/hooks.py)."""

from __future__ import annotations

from pathlib import Path

from sik.core.errors import ToolError
from sik.core.model import BootEntry
from sik.core.resources import data_dir
from sik.core.run import run
from sik.core.stick import Stick, write_atomically
from sik.customize.cpio import Member, cpio_bytes
from sik.customize.hooks import (
    COMMON_FILES,
    EXTENSION_DIR,
    EXTENSION_SUFFIX,
    HOME_IMAGE,
    HOOK_FILES,
    PERSIST_DIR,
    StickCustomizations,
    hook_flavour,
    initrd_path,
)


def read_customizations(stick: Stick) -> StickCustomizations:
    root = stick.root
    overlay = root / "boot/customize/overlay"
    extensions = root / EXTENSION_DIR.relative_to("/")
    persist = root / PERSIST_DIR.relative_to("/")
    return StickCustomizations(
        data_uuid=data_uuid(stick),
        init=(root / "boot/customize/init").is_file(),
        overlay=overlay.is_dir() and any(overlay.iterdir()),
        extensions=tuple(
            sorted(p.name[: -len(EXTENSION_SUFFIX)] for p in extensions.glob("*" + EXTENSION_SUFFIX))
        )
        if extensions.is_dir()
        else (),
        home=(root / HOME_IMAGE.relative_to("/")).is_file(),
        persistent_isos=frozenset(p.name + ".iso" for p in persist.iterdir() if p.is_dir())
        if persist.is_dir()
        else frozenset(),
    )


def data_uuid(stick: Stick) -> str | None:
    """The data partition's filesystem UUID, when the mount tells it (FUSE mounts do not)."""
    try:
        out = run(["findmnt", "-n", "-o", "UUID", "--target", stick.root], capture=True).stdout
    except ToolError:
        return None
    return out.decode().strip() or None


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
        path = initrd_path(flavour)
        if not any(path in e.extra_initrds for e in entries):
            continue
        target = stick.root / path.relative_to("/")
        if write_atomically(target, cpio_bytes(initrd_members(flavour, uuid))):
            written.append(target)
    return tuple(written)
