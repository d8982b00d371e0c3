"""How each ISO's booted system finds its medium: one ladder, tried in the issue's order of
preference, each rung a small rule that either applies or says why not (DESIGN.md, step 6).

    GRUB          GRUB itself reads everything the entry needs (memtest86+, iPXE, loopback.cfg)
    ISO file      the distribution's own parameter (findiso=, iso-scan/filename=, ...), when its
                  initramfs reads the stick's filesystem
    ISO file + filesystem module from the ISO
                  the same, once sik's initrd has loaded the stick filesystem's module (exfat.ko),
                  taken from the ISO's own module tree (sik/customize/fsmod.py)
    virtual CD    the ISO as a read-only block device with its own label: a loop device at the
                  file's offset on the data partition (one extent), device-mapper linear over
                  its extents (several); the family's device parameter or a build-time patch
                  leads the initramfs to it (HANDOFFS)
    in RAM        small ISOs loaded whole by GRUB (newc: initrd) and attached with losetup

Everything here is pure: the facts (which filesystem module the ISO offers, where the file
lies, what its initrd holds, what this host can bundle) are gathered beforehand by
sik/menu/generate.py: modules only for ISOs ``needs_fs_module`` names, the rest only for ISOs
that ``needs_facts`` says may get past both "ISO file" rungs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from sik.core.model import (
    BootMethod,
    Detection,
    FsModule,
    FsType,
    IsoFacts,
    Medium,
    ModuleFile,
    VirtualCd,
)
from sik.customize.fsmod import fsmod_flavour
from sik.customize.vcd import VCD_DEVICE, module_problem, patch_problem
from sik.detection.kmodules import FoundModules, NoModules, module_file_name

# Methods whose entries GRUB boots without any initramfs looking for the ISO.
_GRUB_ALONE = frozenset(
    {BootMethod.memtest, BootMethod.loopback_cfg, BootMethod.ipxe, BootMethod.grub_image}
)
# An ISO loaded whole into RAM needs its size twice at the peak (GRUB's copy and the
# unpacked file) plus room for the system; above this size sik does not offer it.
RAM_ISO_LIMIT = 1536 * 2**20
_RAM_MARGIN = 512 * 2**20
# Methods whose initrd receives the ISO's path on the kernel command line. Initramfs scripts
# split /proc/cmdline on white space; the kernel gives double quotes a meaning of their own;
# and GRUB, building the command line from `linux`'s words, puts a backslash before every \,
# ' and " (grub_create_loader_cmdline, grub-core/lib/cmdline.c), so the initrd would look for
# it\'s.iso. Such a path can hold none of them (a virtual CD names no path: it still can).
PATH_ON_CMDLINE = frozenset(
    {
        BootMethod.live_boot,
        BootMethod.dracut_live,
        BootMethod.casper,
        BootMethod.anaconda,
        BootMethod.archiso,
        BootMethod.miso,
        BootMethod.linuxrc,
        BootMethod.nixos,
        BootMethod.antix,
        BootMethod.slax,
        BootMethod.genkernel,
        BootMethod.kiwi_live,
    }
)
_CMDLINE_UNSAFE = re.compile(r"[\s\"'\\\x00-\x1f\x7f]")
# What a rung says when the plan was made without build-time facts (a plan of detections
# alone, as `sik.testkit` makes): left out of the reasons shown.
NO_FACTS = "sik has not read this ISO's initrd"
# The machines sik's bundled programs (Debian amd64 busybox-static, dmsetup) run on.
_X86_64 = frozenset({"x86_64", "amd64", "x86-64", "x64"})


@dataclass(frozen=True)
class Handoff:
    """How one family's initramfs is led to a virtual CD: where sik's setup runs (``hook``),
    the kernel parameters that name the device, and the build-time patches of the
    distribution's own files (sik/customize/vcd.py PATCHES), refused when they do not apply."""

    hook: str  # "initramfs-tools", "dracut" or "init" (rdinit= wrapper, then the ISO's /init)
    args: tuple[str, ...] = ()
    patches: tuple[str, ...] = ()


# Boot method value -> hand-over. Sources, per family:
# - live-boot: live-boot(7) ``live-media=DEVICE`` is checked first for the live medium;
#   casper(7) has the same parameter (``live-media=DEVICE``, alias bootfrom=). Both are
#   initramfs-tools, whose run_scripts sources only a directory's ORDER file: sik ships that
#   ORDER merged at build time from the ISO's own (initramfs-tools 0.142 scripts/functions).
# - dracut (dmsquash-live, KIWI): ``root=live:CDLABEL=`` already names the label, which the
#   virtual CD carries; sik's setup runs as an initqueue/settled hook (dracut.modules(7)).
# - Alpine (mkinitfs): nlplug-findfs looks for .boot_repository on every block device it
#   is told of, loop devices included (alpinelinux/mkinitfs nlplug-findfs.c, searchdev).
# - Proxmox VE: its /init mounts whole disks only (/sys/block/sd*, sr*, ...): sik adds the
#   virtual CD to that list (see PATCHES "pve-scan").
# - Debian's installer: cdrom-detect mounts what `list-devices cd` prints: sik's patched
#   list-devices names the virtual CD first (di-utils 1.146 bin/list-devices).
# - linux (an initramfs sik has no family knowledge of, a busybox-style /init): sik's wrapper
#   sets the device up before the ISO's own /init, which then finds it by its label.
HANDOFFS: dict[str, Handoff] = {
    "live-boot": Handoff("initramfs-tools", (f"live-media={VCD_DEVICE}",), ("init-premount-order",)),
    "casper": Handoff("initramfs-tools", (f"live-media={VCD_DEVICE}",), ("init-premount-order",)),
    "dracut-live": Handoff("dracut"),
    "kiwi-live": Handoff("dracut"),
    "mkinitfs": Handoff("init"),
    "proxmox": Handoff("init", patches=("pve-scan",)),
    "debian-installer": Handoff("init", patches=("di-list-devices",)),
    "linux": Handoff("init"),
}


@dataclass(frozen=True)
class MediumChoice:
    """One ISO's rung on the ladder (``medium`` None: no rung applies), what it means in
    words for `sik list`, the rungs above it and why each did not apply."""

    medium: Medium | None
    detail: str
    refused: tuple[tuple[Medium, str], ...] = ()
    cmdline: tuple[str, ...] = ()  # the detection's parameters, adapted to the medium
    vcd: VirtualCd | None = None
    fs_module: FsModule | None = None  # for Medium.iso_file_fsmod: what sik's initrd loads

    @property
    def summary(self) -> str:
        """'virtual CD (loop device at the file's offset)', or the last reason why not."""
        if self.medium is None:
            return self.refused[-1][1] if self.refused else self.detail
        return f"{self.medium} ({self.detail})" if self.detail else str(self.medium)


@dataclass(frozen=True)
class _Ask:
    """What every rung looks at."""

    detection: Detection
    iso_path: str
    size: int
    fs: FsType | None
    data_uuid: str | None
    facts: IsoFacts | None
    # What the ISO offers of the stick filesystem's module (sik/menu/fsmods.py), when looked for.
    fs_module: FsModule | FoundModules | NoModules | None = None


_Rule = Callable[[_Ask], "MediumChoice | str"]


def choose_medium(
    detection: Detection,
    iso_path: str,
    size: int,
    fs: FsType | None,
    data_uuid: str | None = None,
    facts: IsoFacts | None = None,
    prefer: Medium | None = None,
    fs_module: FsModule | FoundModules | NoModules | None = None,
) -> MediumChoice:
    """The first rung that applies, from ``prefer`` down when the user chose one (sik.toml)."""
    ask = _Ask(detection, iso_path, size, fs, data_uuid, facts, fs_module)
    refused: list[tuple[Medium, str]] = []
    started = prefer is None
    for medium, rule in LADDER:
        if not started and medium is not prefer:
            refused.append((medium, f"sik.toml asks for {prefer}"))
            continue
        started = True
        verdict = rule(ask)
        if isinstance(verdict, str):
            refused.append((medium, verdict))
            continue
        return replace(verdict, refused=tuple(refused))
    return MediumChoice(None, "", tuple(refused))


def needs_facts(
    detection: Detection,
    iso_path: str,
    fs: FsType | None,
    prefer: Medium | None,
    fs_module: FsModule | FoundModules | NoModules | None = None,
) -> bool:
    """Whether the ladder may pass both "ISO file" rungs for this ISO, so that sik must first
    read where the file lies and what its initrd holds."""
    if detection.method in _GRUB_ALONE:
        return False
    if prefer not in (None, Medium.iso_file, Medium.iso_file_fsmod):
        return True
    ask = _Ask(detection, iso_path, 0, fs, None, None, fs_module)
    return isinstance(_iso_file(ask), str) and isinstance(_iso_file_fsmod(ask), str)


def needs_fs_module(method: BootMethod, fs: FsType | None) -> bool:
    """Whether an ISO booted by ``method`` from a ``fs`` stick is worth looking into for a
    filesystem module: its initramfs cannot read ``fs``, and sik can load one into it."""
    return (
        method not in _GRUB_ALONE
        and fs is not None
        and fs not in method.readable_filesystems()
        and bool(fs.kernel_modules())
        and fsmod_flavour(method) is not None
    )


def describe_modules(module: FsModule | FoundModules) -> str:
    """ "exfat.ko for 6.1.0-57-amd64 from /live/filesystem.squashfs": for `sik list`."""
    names = ", ".join(module_file_name(m) for m in module.members)
    return f"{names} for {module.release} from {module.squashfs}"


# --- the rungs ---------------------------------------------------------------------------------


def _grub(ask: _Ask) -> MediumChoice | str:
    if ask.detection.method in _GRUB_ALONE:
        return MediumChoice(Medium.grub, "", cmdline=ask.detection.cmdline)
    return "its kernel needs an initramfs that finds the ISO"


def _iso_file(ask: _Ask) -> MediumChoice | str:
    detection = ask.detection
    if detection.blocker:
        return detection.blocker
    built_in = isinstance(ask.fs_module, NoModules) and ask.fs_module.built_in
    if ask.fs is not None and ask.fs not in detection.method.readable_filesystems() and not built_in:
        return f"{detection.method}'s initrd cannot read the stick's {ask.fs}"
    if unsafe := unsafe_on_cmdline(detection, ask.iso_path):
        return unsafe
    return MediumChoice(Medium.iso_file, "", cmdline=detection.cmdline)


def _iso_file_fsmod(ask: _Ask) -> MediumChoice | str:
    detection, module = ask.detection, ask.fs_module
    # "" (nothing to say): the rung above told why already, or no module is missing.
    if detection.blocker or ask.fs is None or ask.fs in detection.method.readable_filesystems():
        return ""
    if not ask.fs.kernel_modules():
        return f"sik knows no kernel module that reads {ask.fs}"
    if not needs_fs_module(detection.method, ask.fs):
        return f"sik knows no early hook in {detection.method}'s initramfs to load a module with"
    if isinstance(module, NoModules):
        return module.reason
    if module is None:
        return NO_FACTS
    if unsafe := unsafe_on_cmdline(detection, ask.iso_path):
        return unsafe
    return MediumChoice(
        Medium.iso_file_fsmod,
        describe_modules(module),
        cmdline=detection.cmdline,
        fs_module=module if isinstance(module, FsModule) else None,
    )


def unsafe_on_cmdline(detection: Detection, iso_path: str) -> str | None:
    """Why the initrd cannot be given this ISO's path on its command line, if so."""
    # A loopback.cfg hand-over passes it in $iso_path, which the ISO's own menu puts on its
    # command line unquoted (iso-scan/filename=${iso_path}).
    on_cmdline = detection.method in PATH_ON_CMDLINE | {BootMethod.loopback_cfg} or any(
        "{iso}" in a for a in detection.cmdline
    )
    if on_cmdline and _CMDLINE_UNSAFE.search(iso_path):
        return (
            f"{detection.method} cannot find an ISO whose path contains white space, a quote or "
            "a backslash: rename the file"
        )
    return None


def _virtual_cd(ask: _Ask) -> MediumChoice | str:
    common = _common(ask)
    if isinstance(common, str):
        return common
    facts, handoff, cmdline = common
    if facts.extents is None:
        return facts.extents_problem or "sik could not find where the file lies on the stick"
    probe = _probe(ask.fs, ask.data_uuid)
    if probe is None and ask.fs is not None:
        return "the data partition's filesystem UUID is unknown here, so its initrd could not find it"
    backing = "loop" if len(facts.extents) == 1 else "dm"
    needed = ("loop",) if backing == "loop" else ("loop", "dm_mod")
    setup = _setup(ask, facts, handoff, backing, needed)
    if isinstance(setup, str):
        return setup
    vcd = replace(setup, extents=facts.extents, partition_probe=probe or (0, ""))
    if ask.fs is None:  # `sik detect`: no stick, so no layout yet
        detail = "a loop device at the file's offset once it is on a stick"
    elif backing == "loop":
        detail = "loop device at the file's offset"
    else:
        detail = f"device-mapper over its {len(facts.extents)} extents"
    return MediumChoice(Medium.virtual_cd, detail, cmdline=cmdline, vcd=vcd)


def _in_ram(ask: _Ask) -> MediumChoice | str:
    common = _common(ask)
    if isinstance(common, str):
        return common
    facts, handoff, cmdline = common
    if ask.size > RAM_ISO_LIMIT:
        return (
            f"{_mib(ask.size)} MiB is too big to load into RAM (sik stops at {_mib(RAM_ISO_LIMIT)} MiB)"
        )
    setup = _setup(ask, facts, handoff, "ram", ("loop",))
    if isinstance(setup, str):
        return setup
    detail = f"needs about {_mib(ram_needed(ask.size))} MiB of RAM"
    return MediumChoice(Medium.in_ram, detail, cmdline=cmdline, vcd=setup)


LADDER: tuple[tuple[Medium, _Rule], ...] = (
    (Medium.grub, _grub),
    (Medium.iso_file, _iso_file),
    (Medium.iso_file_fsmod, _iso_file_fsmod),
    (Medium.virtual_cd, _virtual_cd),
    (Medium.in_ram, _in_ram),
)


# --- what virtual CDs and RAM copies share -----------------------------------------------------


def _common(ask: _Ask) -> tuple[IsoFacts, Handoff, tuple[str, ...]] | str:
    """What virtual CDs and RAM copies both need: a hand-over for the family, readable facts,
    busybox to bundle, the patches applying; and the command line without the ISO's path."""
    detection = ask.detection
    handoff = HANDOFFS.get(str(detection.method))
    if handoff is None:
        return f"sik knows no way to lead {detection.method}'s initramfs to a CD device"
    if detection.arch and detection.arch.lower() not in _X86_64:
        return f"sik's bundled tools run on x86-64 only, not {detection.arch}"
    facts = ask.facts
    if facts is None:
        return NO_FACTS
    if facts.initrd is None or facts.initrd.problem:
        problem = facts.initrd.problem if facts.initrd else None
        return problem or "sik could not read this ISO's initrd"
    if "busybox" not in facts.tools:
        return facts.tools_problem or "sik has no busybox-static to bundle (install busybox-static)"
    if handoff.hook == "init" and not _shell_init(facts.initrd.text("init")):
        return "its initrd's /init is not a shell script sik can run before it"
    if handoff.hook == "initramfs-tools" and not facts.initrd.has("scripts/functions"):
        return "its initrd is not made by initramfs-tools"
    if handoff.hook == "dracut" and not _is_dracut(facts):
        return "its initrd is not made by dracut"
    for name in handoff.patches:
        problem = patch_problem(name, facts.initrd)
        if problem:
            return problem
    # The ISO's path on the command line (findiso=, iso-scan/filename=) would send the
    # initramfs looking for a file again: every parameter naming it goes.
    kept = tuple(a for a in detection.cmdline if "{iso}" not in a)
    extra = ("rdinit=/sik/init",) if handoff.hook == "init" else ()
    return facts, handoff, (*kept, *handoff.args, *extra)


def _setup(
    ask: _Ask, facts: IsoFacts, handoff: Handoff, backing: str, needed: tuple[str, ...]
) -> VirtualCd | str:
    assert facts.initrd is not None and facts.identity is not None
    shipped: list[ModuleFile] = []
    for module in needed:
        found = module_problem(module, facts.initrd, facts.iso_modules, facts.kernel_version)
        if isinstance(found, str):
            return found
        shipped += found
    tools = ["busybox"]
    if backing == "dm" and not _has_tool(facts, "dmsetup"):
        if "dmsetup" not in facts.tools:
            return "its initrd has no dmsetup and sik has none to bundle (install dmsetup)"
        tools.append("dmsetup")
    detection = ask.detection
    return VirtualCd(
        backing=backing,
        hook=handoff.hook,
        identity=facts.identity,
        patches=handoff.patches,
        modules=tuple(shipped),
        tools=tuple(tools),
        mount=detection.cd_mount,
        mask_units=detection.cd_units,
    )


def _has_tool(facts: IsoFacts, name: str) -> bool:
    assert facts.initrd is not None
    return any(facts.initrd.has(f"{d}/{name}") for d in ("sbin", "usr/sbin", "bin", "usr/bin"))


def _shell_init(text: str | None) -> bool:
    first = (text or "").split("\n", 1)[0]
    return first.startswith("#!") and re.search(r"\b(sh|ash|busybox)\b", first) is not None


def _is_dracut(facts: IsoFacts) -> bool:
    assert facts.initrd is not None
    return any(facts.initrd.has(f"{d}/dracut-lib.sh") for d in ("lib", "usr/lib"))


def _probe(fs: FsType | None, uuid: str | None) -> tuple[int, str] | None:
    """Where the data partition's filesystem keeps its UUID (ext4, 16 bytes at 0x468) or
    serial number (exFAT at byte 100, FAT32 at byte 67, stored little-endian and shown by
    blkid as XXXX-XXXX), and those bytes in hex: how sik's initrd knows the partition."""
    if fs is None or uuid is None:
        return None
    if fs is FsType.ext4:
        digits = uuid.replace("-", "").lower()
        return (0x468, digits) if re.fullmatch(r"[0-9a-f]{32}", digits) else None
    serial = uuid.replace("-", "").lower()
    if not re.fullmatch(r"[0-9a-f]{8}", serial):
        return None
    little_endian = bytes.fromhex(serial)[::-1].hex()
    return (100 if fs is FsType.exfat else 67), little_endian


def _mib(size: int) -> int:
    return (size + 2**20 - 1) // 2**20


def ram_needed(size: int) -> int:
    """Bytes of RAM an ISO of ``size`` bytes needs when loaded whole (see RAM_ISO_LIMIT)."""
    return 2 * size + _RAM_MARGIN
