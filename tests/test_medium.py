"""The medium ladder (sik/menu/medium.py): each rung's rule, in the issue's order of
preference, and the reasons `sik list` shows; the virtual CD's build-time patches and its
vcd.conf (sik/customize/vcd.py); and overlays/vcd/vcd.sh's reading of an ISO through its
extents, run by the busybox sik bundles."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path, PurePosixPath

import pytest

from sik.core.model import (
    BootMethod,
    Detection,
    FsType,
    InitrdFacts,
    IsoFacts,
    IsoIdentity,
    Medium,
    ModuleFile,
)
from sik.core.resources import data_dir
from sik.core.run import run
from sik.customize.vcd import PATCHES, patch_problem, vcd_conf
from sik.menu.medium import RAM_ISO_LIMIT, choose_medium, needs_facts

P = PurePosixPath
EXT4_UUID = "0f3c5a2e-1b7d-4c8e-9a6f-2d4e8b1c3a57"
IDENTITY = IsoIdentity(4 * 2**20, "LABEL", "a" * 64, "b" * 64)
SHELL_INIT = "#!/bin/sh\necho hello\n"


def _initrd(**changes: object) -> InitrdFacts:
    base = InitrdFacts(
        files=frozenset({"init", "bin/busybox"}),
        modules=frozenset({"loop", "isofs"}),
        kernel_versions=("6.1.0-1-amd64",),
        texts=(("init", SHELL_INIT),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _facts(**changes: object) -> IsoFacts:
    base = IsoFacts(
        identity=IDENTITY,
        extents=((1 << 20, 4 * 2**20),),
        initrd=_initrd(),
        kernel_version="6.1.0-1-amd64",
        tools=frozenset({"busybox", "dmsetup"}),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _detection(method: BootMethod = BootMethod.linux, **changes: object) -> Detection:
    base = Detection(
        "test",
        method,
        "unknown",
        "Test",
        kernel=P("/boot/vmlinuz"),
        initrds=(P("/boot/initrd"),),
        cmdline=("quiet", "findiso={iso}"),
        blocker="no parameter for an ISO file",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _choose(detection: Detection, facts: IsoFacts | None, fs: FsType | None = FsType.ext4, **kw: object):  # type: ignore[no-untyped-def]
    return choose_medium(detection, "/boot/iso/x.iso", IDENTITY.size, fs, EXT4_UUID, facts, **kw)  # type: ignore[arg-type]


def test_grub_alone_and_iso_file_come_first() -> None:
    memtest = Detection("m", BootMethod.memtest, "memtest", "Memtest86+", kernel=P("/x"))
    assert _choose(memtest, None).medium is Medium.grub
    live = _detection(BootMethod.live_boot, blocker=None)
    choice = _choose(live, None)
    assert choice.medium is Medium.iso_file and choice.cmdline == ("quiet", "findiso={iso}")
    assert not needs_facts(live, "/boot/iso/x.iso", FsType.ext4, None)
    assert needs_facts(live, "/boot/iso/x.iso", FsType.exfat, None)  # live-boot reads no exFAT


def test_a_blocked_initramfs_gets_a_virtual_cd_at_the_files_offset() -> None:
    choice = _choose(_detection(), _facts())
    assert choice.medium is Medium.virtual_cd and choice.vcd is not None
    assert choice.summary == "virtual CD (loop device at the file's offset)"
    assert choice.refused[1] == (Medium.iso_file, "no parameter for an ISO file")
    # The ISO's path on the command line would send the initramfs looking for a file.
    assert choice.cmdline == ("quiet", "rdinit=/sik/init")
    vcd = choice.vcd
    assert (vcd.backing, vcd.hook, vcd.tools, vcd.modules) == ("loop", "init", ("busybox",), ())
    assert vcd.extents == ((1 << 20, 4 * 2**20),)
    assert vcd.partition_probe == (0x468, EXT4_UUID.replace("-", ""))


@pytest.mark.parametrize(
    "fs,uuid,probe",
    [(FsType.exfat, "ABCD-1234", (100, "3412cdab")), (FsType.fat32, "1A2B-3C4D", (67, "4d3c2b1a"))],
)
def test_the_partition_is_found_by_its_serial_as_blkid_spells_it(
    fs: FsType, uuid: str, probe: tuple[int, str]
) -> None:
    choice = choose_medium(_detection(), "/boot/iso/x.iso", 1, fs, uuid, _facts())
    assert choice.vcd is not None and choice.vcd.partition_probe == probe


def test_a_fragmented_file_gets_device_mapper_with_dmsetup_bundled_or_its_own() -> None:
    facts = _facts(
        extents=((2 << 20, 2 << 20), (9 << 20, 2 << 20)),
        initrd=_initrd(modules=frozenset({"loop", "dm_mod"})),
    )
    choice = _choose(_detection(), facts)
    assert choice.summary == "virtual CD (device-mapper over its 2 extents)"
    assert choice.vcd is not None and choice.vcd.tools == ("busybox", "dmsetup")
    with_own = replace(
        facts, initrd=replace(facts.initrd, files=facts.initrd.files | {"usr/sbin/dmsetup"})
    )  # type: ignore[arg-type]
    assert _choose(_detection(), with_own).vcd.tools == ("busybox",)  # type: ignore[union-attr]
    none = replace(facts, tools=frozenset({"busybox"}))
    assert "install dmsetup" in dict(_choose(_detection(), none).refused)[Medium.virtual_cd]


def test_a_module_the_initrd_lacks_comes_from_the_iso_with_what_it_needs() -> None:
    dax = ModuleFile("dax", P("/boot/modloop-lts"), "modules/6.1.0-1-amd64/kernel/drivers/dax/dax.ko")
    dm = ModuleFile(
        "dm_mod", P("/boot/modloop-lts"), "modules/6.1.0-1-amd64/kernel/drivers/md/dm-mod.ko", ("dax",)
    )
    facts = _facts(extents=((0, 2048), (8192, 2048)), iso_modules=(dm, dax))
    choice = _choose(_detection(), facts)
    assert choice.vcd is not None and choice.vcd.modules == (dax, dm)  # load order
    missing = _choose(_detection(), replace(facts, iso_modules=()))
    assert missing.medium is Medium.in_ram  # RAM needs no device-mapper
    assert (
        "neither its initrd nor the ISO holds the dm_mod module for kernel 6.1.0-1-amd64"
        in dict(missing.refused)[Medium.virtual_cd]
    )


def test_in_ram_is_the_last_rung_and_says_the_ram_it_needs() -> None:
    choice = _choose(_detection(), _facts(extents=None, extents_problem="cannot read /dev/sdb3"))
    assert choice.medium is Medium.in_ram and choice.vcd is not None and choice.vcd.backing == "ram"
    assert choice.summary == "in RAM (needs about 520 MiB of RAM)"
    assert dict(choice.refused)[Medium.virtual_cd] == "cannot read /dev/sdb3"
    big = choose_medium(
        _detection(), "/boot/iso/x.iso", RAM_ISO_LIMIT + 1, FsType.ext4, EXT4_UUID, _facts(extents=None)
    )
    assert big.medium is None and "too big to load into RAM" in big.refused[-1][1]


def test_sik_toml_can_ask_for_a_lower_rung() -> None:
    live = _detection(
        BootMethod.dracut_live, blocker=None, cmdline=("root=live:CDLABEL=X", "iso-scan/filename={iso}")
    )
    facts = _facts(initrd=_initrd(files=frozenset({"usr/lib/dracut-lib.sh"})))
    choice = _choose(live, facts, prefer=Medium.virtual_cd)
    assert choice.medium is Medium.virtual_cd and choice.vcd is not None and choice.vcd.hook == "dracut"
    assert choice.cmdline == ("root=live:CDLABEL=X",)
    assert dict(choice.refused)[Medium.iso_file] == "sik.toml asks for virtual CD"
    assert _choose(live, facts, prefer=Medium.in_ram).medium is Medium.in_ram


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"arch": "arm64"}, "x86-64 only"),
        ({"method": BootMethod.anaconda}, "no way to lead anaconda"),
    ],
)
def test_what_sik_cannot_do_is_said(changes: dict[str, object], reason: str) -> None:
    choice = _choose(_detection(**changes), _facts())
    assert choice.medium is None and reason in choice.refused[-1][1]


@pytest.mark.parametrize(
    "initrd,reason",
    [
        (_initrd(texts=(("init", ""),)), "not a shell script"),  # /init -> systemd
        (_initrd(problem="sik cannot read its initrd: it is compressed with lzop"), "lzop"),
    ],
)
def test_an_initrd_sik_cannot_wrap_is_refused(initrd: InitrdFacts, reason: str) -> None:
    choice = _choose(_detection(), _facts(initrd=initrd))
    assert choice.medium is None and reason in choice.refused[-1][1]


def test_live_boot_is_led_by_live_media_and_a_merged_order() -> None:
    live = _detection(BootMethod.live_boot, cmdline=("boot=live", "findiso={iso}"))
    facts = _facts(initrd=_initrd(files=frozenset({"scripts/functions"})))
    choice = _choose(live, facts)
    assert choice.cmdline == ("boot=live", "live-media=/dev/sik/cd")
    assert choice.vcd is not None and choice.vcd.patches == ("init-premount-order",)
    not_initramfs_tools = _choose(live, _facts())
    assert "not made by initramfs-tools" in not_initramfs_tools.refused[-1][1]


def test_the_init_premount_order_keeps_the_distributions_own_lines() -> None:
    order = '/scripts/init-premount/udev "$@"\n[ -e /conf/param.conf ] && . /conf/param.conf\n'
    path, text = PATCHES["init-premount-order"](_initrd(texts=(("scripts/init-premount/ORDER", order),)))  # type: ignore[misc]
    assert path == "scripts/init-premount/ORDER"
    assert text.startswith(order) and text.endswith(
        '/scripts/init-premount/sik-vcd "$@"\n[ -e /conf/param.conf ] && . /conf/param.conf\n'
    )


def test_the_pve_patch_applies_exactly_once_or_refuses() -> None:
    init = "#!/bin/sh\nfor i in /sys/block/hd* /sys/block/sr* /sys/block/sd*; do\n  :\ndone\n"
    path, text = PATCHES["pve-scan"](_initrd(texts=(("init", init),)))  # type: ignore[misc]
    assert path == "init"
    assert (
        "for i in /sys/block/hd* /sys/block/sr* /sys/block/loop* /sys/block/dm-* /sys/block/sd*; do"
        in text
    )
    assert patch_problem("pve-scan", _initrd(texts=(("init", init + init),))) == (
        "its /init has 2 device loops over /sys/block/sr*, where sik expects one"
    )
    assert patch_problem("pve-scan", _initrd(texts=(("init", SHELL_INIT),))) is not None


def test_the_installer_patch_puts_the_virtual_cd_first() -> None:
    listing = '#! /bin/sh\nTYPE="$1"\nif [ ! -d /sys/block ]; then\n\texit 0\nfi\n'
    path, text = PATCHES["di-list-devices"](_initrd(texts=(("bin/list-devices", listing),)))  # type: ignore[misc]
    assert path == "bin/list-devices"
    assert text.index("echo /dev/sik/cd") < text.index("if [ ! -d /sys/block ]")
    assert patch_problem("di-list-devices", _initrd()) == "its initrd has no bin/list-devices (di-utils)"


def test_vcd_conf_quotes_every_value() -> None:
    choice = _choose(_detection(), _facts())
    assert choice.vcd is not None
    conf = vcd_conf("/boot/iso/it's here.iso", choice.vcd)
    assert "SIK_ISO_PATH='/boot/iso/it'\"'\"'s here.iso'" in conf
    assert f"SIK_EXTENTS={1 << 20}:{4 * 2**20}\n" in conf
    assert "SIK_BACKING=loop" in conf and "SIK_HEAD_SHA256=" + "a" * 64 in conf


def test_vcd_sh_reads_the_iso_through_its_extents(tmp_path: Path) -> None:
    """vcd.sh checks the bytes before it attaches anything: through the extents, with dd."""
    iso = b"".join(hashlib.sha256(bytes([i])).digest() * 64 for i in range(96))  # 192 KiB
    # The file in three runs on a "partition", out of order, with other bytes between.
    partition = bytearray(b"\xee" * (1 << 20))
    runs = ((512 * 1024, 65536), (4096, 65536 + 2048), (300 * 1024, len(iso) - 131072 - 2048))
    logical = 0
    for start, length in runs:
        partition[start : start + length] = iso[logical : logical + length]
        logical += length
    (tmp_path / "part").write_bytes(bytes(partition))
    extents = " ".join(f"{a}:{b}" for a, b in runs)
    head = hashlib.sha256(iso[:65536]).hexdigest()
    tail = hashlib.sha256(iso[-65536:]).hexdigest()
    (tmp_path / "vcd.conf").write_text(
        f"SIK_SIZE={len(iso)}\nSIK_HEAD_SHA256={head}\nSIK_TAIL_SHA256={tail}\nSIK_ISO_PATH=/boot/iso/x.iso\n"
    )
    script = data_dir("overlays") / "vcd/vcd.sh"
    part, out_file = tmp_path / "part", tmp_path / "out"
    check = (
        f'. {script}; EXTENTS="{extents}"; iso_range 0 {len(iso)} {part} >{out_file};'
        f" same_iso {part} && echo same"
    )
    env = {
        "SIK_VCD_LIBRARY": "1",
        "SIK_VCD_CONF": str(tmp_path / "vcd.conf"),
        "SIK_STATE": str(tmp_path),
        "SIK_BUSYBOX": "/bin/busybox",
    }
    out = run(["/bin/busybox", "sh", "-c", check], capture=True, env=env)
    assert (tmp_path / "out").read_bytes() == iso
    assert out.stdout.decode().strip() == "same"
