"""The virtual CD's secondary initrd: what sik adds to an ISO's boot so that its initramfs finds
the ISO as a read-only block device carrying its own label (sik/menu/medium.py decides when).

Per entry, an initrd (sik/core/stick.py vcd_initrd_on_stick) holds:
  sik/vcd.conf          the ISO's extents on the data partition, its identity, how to find the
                        partition, what to attach (written here, read by overlays/vcd/vcd.sh)
  sik/vcd.sh            the setup: find the partition, check the identity, attach, link
  the hook              where the setup runs in this family's initramfs (HOOK_FILES)
  patched files         of the ISO's own initrd, patched at build time (PATCHES)
  sik/modules/*.ko      modules the initrd lacks, taken from the ISO itself
Shared by all entries: a bundle of Debian's busybox-static and, for device-mapper, one of
Debian's dmsetup with its libraries and their loader in a private folder (the VCD_*_INITRD
paths; sik/customize/bundle.py).

A patch is a pure function of the original file's text: it is checked when the plan is made,
so an ISO whose file does not look as sik expects is refused at build time with a reason (in
`sik list`), never patched by guesswork at boot.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

from sik.core.model import InitrdFacts, IsoFacts, ModuleFile, VirtualCd
from sik.core.resources import data_dir
from sik.core.stick import (
    VCD_BUSYBOX_INITRD,
    VCD_DMSETUP_INITRD,
    ram_header_on_stick,
    vcd_initrd_on_stick,
)
from sik.customize.cpio import Member

# The device sik's setup links to whatever it attached (loopN or dm-N), named on command lines.
VCD_DEVICE = "/dev/sik/cd"
# Where a whole ISO lands in the initramfs for Medium.in_ram. GRUB loads the ISO file itself as
# an initrd, right after a 124-byte newc header sik writes for it (ram_header), so that the
# kernel's unpacker reads header + ISO as one archive member; GRUB pads each initrd file to 4
# bytes, and header and ISO are multiples of 4. (GRUB 2.06's own "newc:NAME:FILE" syntax
# writes names without the NUL the kernel requires: "initramfs name without nulterm".)
RAM_ISO = "sik-ram.iso"

# Hook -> (file under overlays/, path in the initramfs, executable).
HOOK_FILES: Mapping[str, tuple[tuple[str, str, bool], ...]] = {
    "init": (("vcd/init", "sik/init", True),),
    "initramfs-tools": (
        ("vcd/initramfs-tools", "scripts/init-premount/sik-vcd", True),
        ("vcd/live-bottom", "scripts/live-bottom/sik-vcd", True),
        ("initramfs-tools/ORDER", "scripts/live-bottom/ORDER", False),
    ),
    "dracut": (("vcd/dracut.sh", "usr/lib/dracut/hooks/initqueue/settled/90-sik-vcd.sh", False),),
}
_COMMON = (("vcd/vcd.sh", "sik/vcd.sh", True),)

_Patch = Callable[[InitrdFacts], "tuple[str, str] | str"]


def _init_premount_order(initrd: InitrdFacts) -> tuple[str, str] | str:
    """initramfs-tools sources scripts/init-premount/ORDER, written when the image was made;
    sik's script runs after the distribution's own (udev is up by then), so the merged file
    is theirs plus two lines in their style."""
    path = "scripts/init-premount/ORDER"
    original = initrd.text(path) or ""
    if "sik-vcd" in original:
        return "its initrd already holds a sik hook: it was made from a stick's initrd, not an ISO"
    ours = '/scripts/init-premount/sik-vcd "$@"\n[ -e /conf/param.conf ] && . /conf/param.conf\n'
    joined = original if not original or original.endswith("\n") else original + "\n"
    return path, joined + ours


def _pve_scan(initrd: InitrdFacts) -> tuple[str, str] | str:
    """Proxmox's installer /init mounts each whole disk named by one `for` list of
    /sys/block globs (hd*, sr*, scd*, sd*, nvme*) and looks for its id file: the virtual CD
    joins that list. Checked against documentation only (the PVE 9.1 /init as described in
    https://osisa.github.io/NETSetup/docs/pve-init-iso-scanning.md)."""
    text = initrd.text("init")
    if text is None:
        return "its initrd has no /init"
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if "/sys/block/sr*" in line and "for " in line]
    if len(hits) != 1:
        return f"its /init has {len(hits)} device loops over /sys/block/sr*, where sik expects one"
    line = lines[hits[0]]
    lines[hits[0]] = line.replace("/sys/block/sr*", "/sys/block/sr* /sys/block/loop* /sys/block/dm-*", 1)
    return "init", "\n".join(lines)


def _di_list_devices(initrd: InitrdFacts) -> tuple[str, str] | str:
    """Debian's installer finds its CD by mounting what `list-devices cd` prints (cdrom-detect);
    sik's device comes first. The anchor is the first test of di-utils' list-devices (1.146,
    Debian 12), which must appear exactly once."""
    path = "bin/list-devices"
    text = initrd.text(path)
    if text is None:
        return "its initrd has no bin/list-devices (di-utils)"
    anchor = "if [ ! -d /sys/block ]; then\n"
    if text.count(anchor) != 1:
        return "its bin/list-devices does not look like di-utils' (sik patches Debian 12's)"
    ours = f'if [ "$TYPE" = cd ] && [ -b {VCD_DEVICE} ]; then\n\techo {VCD_DEVICE}\nfi\n'
    return path, text.replace(anchor, ours + anchor, 1)


PATCHES: Mapping[str, _Patch] = {
    "init-premount-order": _init_premount_order,
    "pve-scan": _pve_scan,
    "di-list-devices": _di_list_devices,
}
# Files whose text the initrd reader keeps (sik/detection/initrd.py), because a patch or a
# check starts from them.
PATCHED_TEXTS = ("init", "scripts/init-premount/ORDER", "bin/list-devices")


def patch_problem(name: str, initrd: InitrdFacts) -> str | None:
    result = PATCHES[name](initrd)
    return result if isinstance(result, str) else None


def patched_files(vcd: VirtualCd, initrd: InitrdFacts) -> list[Member]:
    members = []
    for name in vcd.patches:
        result = PATCHES[name](initrd)
        if isinstance(result, str):  # the plan checked it; the initrd changed since
            raise ValueError(f"patch {name} no longer applies: {result}")
        path, text = result
        members.append(Member.file(path, text.encode(), executable=path == "init" or "bin/" in path))
    return members


def module_problem(
    name: str, initrd: InitrdFacts, found: tuple[ModuleFile, ...], kernel: str | None
) -> list[ModuleFile] | str:
    """The modules sik must ship for ``name`` (with what it depends on, in load order), none
    when the initrd has it, or why neither the initrd nor the ISO has it."""
    if name in initrd.modules:
        return []
    by_name = {m.name: m for m in found}
    if name not in by_name:
        where = f" for kernel {kernel}" if kernel else ""
        return f"neither its initrd nor the ISO holds the {name} module{where}"
    ordered: list[ModuleFile] = []

    def visit(module: ModuleFile) -> None:
        for dep in module.depends:
            if dep not in initrd.modules and dep in by_name and by_name[dep] not in ordered:
                visit(by_name[dep])
        if module not in ordered:
            ordered.append(module)

    visit(by_name[name])
    return ordered


def vcd_initrds(entry_id: str, vcd: VirtualCd, iso: PurePosixPath) -> tuple[PurePosixPath, ...]:
    """The initrds GRUB loads, after the ISO's own, for one entry's virtual CD; for a RAM
    copy, the ISO file itself (``iso``) follows its header."""
    shared = (
        (VCD_BUSYBOX_INITRD, VCD_DMSETUP_INITRD) if "dmsetup" in vcd.tools else (VCD_BUSYBOX_INITRD,)
    )
    ram = (ram_header_on_stick(entry_id), iso) if vcd.backing == "ram" else ()
    return (*shared, *ram, vcd_initrd_on_stick(entry_id))


def ram_header(size: int) -> bytes:
    """The newc header (buffer-format.rst) of the file RAM_ISO, ``size`` bytes, padded to 4."""
    name = RAM_ISO.encode() + b"\0"
    fields = (0, 0o100444, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name), 0)
    header = b"070701" + b"".join(f"{value:08x}".encode() for value in fields) + name
    return header + bytes(-len(header) % 4)


def vcd_conf(name: str, vcd: VirtualCd) -> str:
    """sik/vcd.conf, read by overlays/vcd/vcd.sh: shell assignments, every value quoted."""
    offset, probe = vcd.partition_probe
    values = {
        "SIK_ISO_PATH": name,
        "SIK_BACKING": vcd.backing,
        "SIK_PROBE_OFFSET": str(offset),
        "SIK_PROBE_HEX": probe,
        "SIK_EXTENTS": " ".join(f"{start}:{length}" for start, length in vcd.extents),
        "SIK_SIZE": str(vcd.identity.size),
        "SIK_HEAD_SHA256": vcd.identity.head_sha256,
        "SIK_TAIL_SHA256": vcd.identity.tail_sha256,
        "SIK_MODULES": " ".join(m.name for m in vcd.modules),
        "SIK_MOUNT": str(vcd.mount or ""),
        "SIK_MASK_UNITS": " ".join(vcd.mask_units),
        "SIK_RAM_ISO": f"/{RAM_ISO}",
        "SIK_DEVICE": VCD_DEVICE,
    }
    lines = [f"{key}={shlex.quote(value)}" for key, value in values.items()]
    return (
        "# Written by sik generate for one ISO's virtual CD (sik/customize/vcd.py).\n"
        + "\n".join(lines)
        + "\n"
    )


def vcd_members(
    name: str, vcd: VirtualCd, facts: IsoFacts, modules: Mapping[str, bytes]
) -> list[Member]:
    """Every member of one entry's virtual-CD initrd; ``modules`` holds the bytes of each
    module in ``vcd.modules``, read out of the ISO by the caller."""
    source = data_dir("overlays")
    members = [
        Member.file(dest, (source / src).read_bytes(), executable=exe)
        for src, dest, exe in (*_COMMON, *HOOK_FILES[vcd.hook])
    ]
    members.append(Member.file("sik/vcd.conf", vcd_conf(name, vcd).encode()))
    for module in vcd.modules:
        members.append(Member.file(f"sik/modules/{module.name}.ko", modules[module.name]))
    if vcd.patches:
        assert facts.initrd is not None
        members += patched_files(vcd, facts.initrd)
    return members
