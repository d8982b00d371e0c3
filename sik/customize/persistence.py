"""A distribution's own persistence for one ISO: the store its initrd looks for, made with the
name, label and layout the distribution documents (sik/customize/hooks.py PERSISTENCE_LAYOUT holds
the names and kernel parameters), in /boot/sik/persist/ISO-STEM/ on the data partition."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sik.core.errors import SikError, StickError
from sik.core.stick import KIWI_COW_FILE, Stick
from sik.customize.hooks import PERSISTENCE_LAYOUT, persistence_kind
from sik.customize.images import check_room, make_image

# persistence.conf(5): "/ union" keeps every change to the root filesystem.
_LIVE_BOOT_CONF = "/ union\n"


def create_persistence(stick: Stick, iso_name: str, method: str, size: int, uuid: str | None) -> Path:
    kind = persistence_kind(method)
    if kind is None:
        raise SikError(f"{iso_name} boots with {method}, which has no persistence sik knows")
    name, args = PERSISTENCE_LAYOUT[kind]
    if uuid is None and any("{uuid}" in a for a in args):
        raise StickError(
            f"{method} names the persistence store by the stick's filesystem UUID, which is unknown",
            hint="use --image FILE, or a stick mounted by the kernel rather than through FUSE",
        )
    directory = stick.persist_dir(iso_name)
    path = directory / name
    if path.exists():
        raise StickError(f"{iso_name} already has persistence ({path.relative_to(stick.root)})")
    if kind == "kiwi":
        return _create_kiwi(stick, directory, size)
    if kind == "archiso":  # a directory on the data partition: nothing to size
        path.mkdir(parents=True)
        return path
    check_room(stick, path, size)
    if kind == "live-boot":
        with tempfile.TemporaryDirectory(prefix="sik-persistence-") as tree:
            # The volume's root becomes the live root's upper layer: it needs /'s permissions.
            Path(tree).chmod(0o755)
            Path(tree, "persistence.conf").write_text(_LIVE_BOOT_CONF)
            make_image(path, size, ext4_label="persistence", populate=Path(tree))
    elif kind == "dracut":
        make_image(path, size, ext4_label=None)  # all zeros: a fresh device-mapper snapshot store
    else:
        make_image(path, size, ext4_label="casper-rw")
    return path


def _create_kiwi(stick: Stick, marker: Path, size: int) -> Path:
    """KIWI's cow file where kiwi-live looks for it when the ISO is loop-booted (see
    sik.core.stick.KIWI_COW_FILE); the ISO's empty persist dir marks it as the one whose
    entry turns persistence on. An existing cow file was made for another KIWI ISO, whose
    changes must not become this one's."""
    path = stick.kiwi_cow_file
    if marker.exists():
        raise StickError(f"{marker.name} already has persistence ({KIWI_COW_FILE})")
    if path.exists():
        raise StickError(
            f"the stick already has KIWI's cow file {KIWI_COW_FILE}, which all KIWI ISOs share",
            hint="delete it (and its ISO's folder in /boot/sik/persist) to move persistence to this ISO",
        )
    check_room(stick, path, size)
    # Labelled as KIWI labels the write partition it makes when booted from a whole disk.
    make_image(path, size, ext4_label="cow")
    marker.mkdir(parents=True)
    return path
