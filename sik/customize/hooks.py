"""What each boot method supports of sik's customisations, and the secondary initrd that brings
them into a booted system.

Customisations live on the stick's data partition:
  /boot/customize/init              run once per boot in every booted system
  /boot/customize/overlay/          copied over the booted system's root
  /boot/extensions/*.ExtensionImage merged into /usr and /opt (see sik/customize/extensions.py)
  /home.img                         mounted on /home (see sik/customize/home.py)
  /boot/sik/persist/ISO-STEM/       the distribution's own persistence (see sik/customize/persistence.py)

The first four reach a booted system through a secondary initrd (sik/customize/cpio.py) that GRUB loads
after the ISO's own: it adds a hook for the ISO's init system (overlays/<flavour>/) and the
shared step overlays/common/sik.sh. The tables below are keyed by BootMethod *values* so that
boot methods added elsewhere only need a line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from sik.core.model import BootEntry
from sik.core.stick import initrd_on_stick, iso_stem, persist_dir_on_stick

# Boot method value -> hook flavour (a folder of overlays/). Methods missing here (memtest86+,
# loopback.cfg hand-overs, ...) get no secondary initrd: sik cannot know their init system.
# archiso is missing on purpose: mkinitcpio runs only the hooks named in the /config file built
# into the ISO's initrd, which an appended initrd could only replace as a whole.
HOOK_FLAVOURS: Mapping[str, str] = {
    "live-boot": "live-boot",
    "casper": "casper",
    "dracut-live": "dracut",
    "kiwi-live": "dracut",
    "anaconda": "dracut",
}

# Boot method value -> the distribution's own persistence mechanism (sik/customize/persistence.py).
PERSISTENCE_BY_METHOD: Mapping[str, str] = {
    "live-boot": "live-boot",
    "casper": "casper",
    "dracut-live": "dracut",
    "kiwi-live": "kiwi",
    "archiso": "archiso",
}

# Where each flavour's files go inside the initramfs: (file under overlays/, path, executable).
# sik/customize/initrds.py packs them.
HOOK_FILES: Mapping[str, tuple[tuple[str, str, bool], ...]] = {
    "live-boot": (
        ("live-boot/sik", "scripts/live-bottom/sik", True),
        ("initramfs-tools/ORDER", "scripts/live-bottom/ORDER", False),
        ("live-boot/live-premount-ORDER", "scripts/live-premount/ORDER", False),
        ("live-boot/persistence.sh", "sik/live-boot-persistence.sh", False),
    ),
    "casper": (
        ("casper/sik", "scripts/casper-bottom/99sik", True),
        ("initramfs-tools/ORDER", "scripts/casper-bottom/ORDER", False),
    ),
    "dracut": (("dracut/90-sik.sh", "usr/lib/dracut/hooks/pre-pivot/90-sik.sh", True),),
}
# The kernel replaces an existing path whose type differs from the archive's (a directory entry
# "lib" deletes a "lib -> usr/lib" link): members never pass through these names, which are
# links in merged-/usr initramfs images.
MERGED_USR_LINKS = frozenset({"bin", "sbin", "lib", "lib32", "lib64", "libx32"})
COMMON_FILES = (
    ("initramfs-tools/ORDER", "sik/ORDER", False),
    ("common/sik.sh", "sik/sik.sh", True),
    ("common/run-customize.sh", "sik/run-customize.sh", True),
    ("common/sik-customize.service", "sik/sik-customize.service", False),
)

# Where the data partition appears in every booted system.
STICK_IN_BOOTED_SYSTEM = PurePosixPath("/run/sik/stick")


@dataclass(frozen=True)
class StickCustomizations:
    """What the stick holds that booted systems should pick up; read before planning."""

    data_uuid: str | None = None
    init: bool = False
    overlay: bool = False
    extensions: tuple[str, ...] = ()
    home: bool = False
    # The persistence stores on the stick, by the name of their folder (the ISO's stem).
    persistent_stores: frozenset[str] = frozenset()

    @property
    def any_for_hooks(self) -> bool:
        return self.init or self.overlay or bool(self.extensions) or self.home

    def has_persistence(self, iso_name: str) -> bool:
        return iso_stem(iso_name) in self.persistent_stores


def hook_flavour(method: str) -> str | None:
    return HOOK_FLAVOURS.get(str(method))


def persistence_kind(method: str) -> str | None:
    return PERSISTENCE_BY_METHOD.get(str(method))


# Persistence kind -> (file or directory in the ISO's persist dir, kernel parameters). "{dir}" is
# that directory on the data partition, "{uuid}" the data partition's filesystem UUID.
PERSISTENCE_LAYOUT: Mapping[str, tuple[str, tuple[str, ...]]] = {
    # live-boot(7): `persistence` turns it on and finds the store by its label. live-boot never
    # searches the partition its findiso= ISO is on, so sik's initrd attaches the file named by
    # sik.persistence= (overlays/live-boot/persistence.sh); it holds a persistence.conf(5).
    "live-boot": ("persistence", ("persistence", "sik.persistence={dir}/persistence")),
    # casper(7): `persistent` looks for a casper-rw file or partition, persistent-path= where.
    "casper": ("casper-rw", ("persistent", "persistent-path={dir}/")),
    # dracut.cmdline(7): rd.live.overlay=<devspec>:<pathspec> names a file used as the
    # persistent (device-mapper snapshot) overlay of the live root.
    "dracut": ("overlay.img", ("rd.live.overlay=/dev/disk/by-uuid/{uuid}:{dir}/overlay.img",)),
    # KIWI's kiwi-live dracut module (KIWI docs, "Boot parameters"): rd.live.overlay.persistent
    # keeps the overlay on disk, rd.live.overlay.cowfs names the filesystem. An ISO booted as a
    # file through iso-scan ("loop boot") keeps it in a cow file on the partition holding the
    # ISO, not in the persist dir: see KIWI_COW_FILE.
    "kiwi": ("live_system.cow", ("rd.live.overlay.persistent", "rd.live.overlay.cowfs=ext4")),
    # archiso's boot parameters: cow_device holds the copy-on-write space, in cow_directory.
    "archiso": ("cow", ("cow_device=/dev/disk/by-uuid/{uuid}", "cow_directory={dir}/cow")),
}
# kiwi-live-lib.sh (preparePersistentOverlayLoopBoot) mounts /run/initramfs/isoscan/live_system.cow,
# the root of the ISO's partition, and creates it (rd.live.cowfile.mbsize, 500 MB) when missing.
# Newer KIWI reads another path from rd.live.cowfile.path; kiwi-dracut-live 9.24 (Debian 12)
# does not, so sik keeps the default (sik.core.stick.KIWI_COW_FILE): one KIWI persistence per
# stick, found by every version.
# Persistence kinds that work only with sik's secondary initrd loaded.
PERSISTENCE_NEEDS_INITRD = frozenset({"live-boot"})


def persistence_args(method: str, iso_name: str, uuid: str | None) -> tuple[str, ...]:
    """The kernel parameters that turn on ``iso_name``'s persistence store, or () when its
    boot method has none or the parameters need a UUID that is unknown."""
    kind = persistence_kind(method)
    if kind is None:
        return ()
    _, args = PERSISTENCE_LAYOUT[kind]
    if uuid is None and any("{uuid}" in a for a in args):
        return ()
    where = persist_dir_on_stick(iso_name)
    return tuple(a.replace("{dir}", str(where)).replace("{uuid}", uuid or "") for a in args)


def customize_entry(entry: BootEntry, found: StickCustomizations) -> BootEntry:
    """The entry with sik's secondary initrd and the ISO's persistence parameters, where its
    boot method supports them and the stick holds something to apply."""
    extra = entry.extra_initrds
    persistent = found.has_persistence(entry.iso.name)
    args = entry.cmdline
    if persistent:
        args = (*args, *persistence_args(str(entry.method), entry.iso.name, found.data_uuid))
    flavour = hook_flavour(entry.method)
    needed = found.any_for_hooks or (
        persistent and persistence_kind(entry.method) in PERSISTENCE_NEEDS_INITRD
    )
    if flavour is not None and needed:
        extra = (*extra, initrd_on_stick(flavour))
    return replace(entry, extra_initrds=extra, cmdline=args)


def applicable(method: str, found: StickCustomizations, iso_name: str) -> tuple[str, ...]:
    """What `sik list` shows per ISO: the customisations its boot method supports; those the
    stick holds right now are marked with a star."""
    items: list[str] = []
    if hook_flavour(method) is not None:
        for name, present in (
            ("init", found.init),
            ("overlay", found.overlay),
            ("extensions", bool(found.extensions)),
            ("home", found.home),
        ):
            items.append(name + ("*" if present else ""))
    if persistence_kind(method) is not None:
        items.append("persistence" + ("*" if found.has_persistence(iso_name) else ""))
    return tuple(items)
