"""Acceptance check: full live systems that no test has seen boot to userspace from a sik stick.

Builds two real live ISOs from Debian 12 packages (a Debian live system booted by live-boot, and
a system whose initramfs is dracut's dmsquash-live, laid out as Fedora ≤ 41 live media), makes a
stick with the sik CLI exactly as a user does, and boots each ISO from its menu entry under
SeaBIOS and OVMF until the booted system's own getty prints its login prompt.

    .venv/bin/python scripts/acceptance_full_systems.py [--work DIR] [--keep] [--memory MB]

The ISOs are cached under $SIK_TEST_CACHE (or ~/.cache/sik-tests)/full-systems/, keyed on the
versions apt offers for the packages that go in, so a warm run only makes the stick and boots.
Serial logs are written to the work directory; the disk images there are removed unless --keep.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.fspath(ROOT))

from sik.core.errors import SikError, ToolError  # noqa: E402
from sik.core.model import Firmware  # noqa: E402
from sik.core.run import run  # noqa: E402
from sik.vm.qemu import BootResult, boot_until  # noqa: E402
from tests.fixtures.chroot import AptSource, Chroot, remove_tree  # noqa: E402

log = logging.getLogger("acceptance")

SIK = ROOT / ".venv" / "bin" / "sik"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
APT_SOURCES = (
    AptSource(MIRROR, SUITE),
    AptSource(MIRROR, f"{SUITE}-updates"),
    AptSource(SECURITY_MIRROR, f"{SUITE}-security"),
)
# Bump when the build steps below change, so cached ISOs built the old way are not reused.
RECIPE = "1"
BOOT_TIMEOUT = 600.0
KERNEL_ARGS = "console=ttyS0,115200"
# Files a live system does not need to boot; dropping them keeps the ISOs small.
SLIM_DIRS = (
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/cache/apt",
    "var/lib/apt/lists",
)
# Mount points whose contents belong to the running system, not to the image.
VOLATILE_DIRS = ("proc", "sys", "dev", "run", "tmp")
# The drivers the dracut initramfs needs to find the ISO on a virtio disk and loop-mount it.
DRACUT_DRIVERS = "virtio_blk virtio_pci ext4 isofs squashfs loop overlay dm_snapshot"


@dataclass(frozen=True)
class LiveSystem:
    """One live ISO: what goes into its root filesystem, how its tree is laid out, and the
    prompt that proves its own systemd reached userspace."""

    name: str  # cache directory and log names
    iso_name: str  # the file name on the stick, as a user would have it
    volume_id: str
    hostname: str
    install_steps: tuple[tuple[str, ...], ...]  # one `apt-get install` per step, in order
    initrd: Callable[[Chroot, str, Path], Path]  # (chroot, kernel version, build dir) -> initrd
    lay_out: Callable[[Path, Path, str, Path], None]  # (chroot, ISO tree, kver, initrd)

    @property
    def marker(self) -> str:
        # agetty prints "<hostname> login:" only after systemd in the booted root filesystem
        # started serial-getty@ttyS0; the hostname comes from that filesystem's /etc/hostname,
        # and neither initramfs runs a getty.
        return f"{self.hostname} login:"

    def packages(self) -> tuple[str, ...]:
        return tuple(p for step in self.install_steps for p in step)


# --- building the root filesystems --------------------------------------------------------------


def step(message: str) -> None:
    print(f"• {message}", file=sys.stderr, flush=True)


def candidate_version(package: str) -> str:
    out = run(["apt-cache", "policy", package], capture=True).stdout.decode()
    match = re.search(r"^\s*Candidate:\s*(\S+)", out, re.MULTILINE)
    if match is None or match.group(1) == "(none)":
        raise ToolError(f"apt offers no version of {package}", hint="run apt-get update")
    return match.group(1)


def cache_key(system: LiveSystem) -> tuple[str, str]:
    """A short hash of what decides the ISO's contents, and the text it hashes.

    The versions come from the host's apt, which reads the same Debian archive the chroot does.
    """
    versions = "".join(f"{p}={candidate_version(p)}\n" for p in sorted(system.packages()))
    text = f"recipe={RECIPE}\nsuite={SUITE}\n{versions}"
    return hashlib.sha256(text.encode()).hexdigest()[:12], text


def bootstrap(root: Path, system: LiveSystem) -> tuple[str, Path]:
    """A minimal Debian with ``system``'s packages installed: its kernel version and initrd."""
    step(f"{system.name}: debootstrap --variant=minbase {SUITE}")
    # Security updates too, as on an installed system, so the kernel is the current one. The
    # kernel's own hooks make the initrd (kernel_initrd): live-boot's is used as it is.
    chroot = Chroot(root, SUITE, APT_SOURCES, kernel_initrd=True)
    chroot.bootstrap()
    with chroot.mounted():
        chroot.run("apt-get", "update", "-q")
        for packages in system.install_steps:
            step(f"{system.name}: apt-get install {' '.join(packages)}")
            chroot.apt_install(*packages)
        chroot.run("apt-get", "clean")
        kver = chroot.kernel_version()
        initrd = system.initrd(chroot, kver, root.parent)
    finish_root(root, system.hostname)
    return kver, initrd


def finish_root(root: Path, hostname: str) -> None:
    """Undo the build-time settings, name the system, and drop what a live system never reads."""
    (root / "usr/sbin/policy-rc.d").unlink()
    (root / "etc/resolv.conf").unlink(missing_ok=True)  # copied only if the host has one
    (root / "etc/hostname").write_text(f"{hostname}\n")
    (root / "etc/hosts").write_text(f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n")
    for name in SLIM_DIRS:
        for child in (root / name).glob("*"):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()


# --- the two kinds of live media ----------------------------------------------------------------


def initramfs_tools_initrd(chroot: Chroot, kver: str, build: Path) -> Path:
    # initramfs-tools built it when the kernel was installed, with live-boot's hooks (both
    # came in one transaction, so the trigger ran after live-boot was unpacked).
    return chroot.root / "boot" / f"initrd.img-{kver}"


def dracut_initrd(chroot: Chroot, kver: str, build: Path) -> Path:
    """A generic (not host-only) dracut initramfs with dmsquash-live, kept out of the image."""
    chroot.run(
        "dracut", "--force", "--no-hostonly", "--no-hostonly-cmdline",
        "--add", "dmsquash-live",
        "--add-drivers", DRACUT_DRIVERS,
        "/tmp/initrd-live.img", kver,
    )  # fmt: skip
    initrd = build / "initrd.img"
    shutil.move(chroot.root / "tmp" / "initrd-live.img", initrd)
    return initrd


def squash(source: Path, target: Path, *, exclude_volatile: bool) -> None:
    excludes = ["-wildcards", "-e", *(f"{d}/*" for d in VOLATILE_DIRS)] if exclude_volatile else []
    run(["mksquashfs", source, target, "-noappend", "-quiet", "-no-progress", "-comp", "xz", *excludes])


def live_boot_tree(root: Path, tree: Path, kver: str, initrd: Path) -> None:
    """Debian live media: /live holds the kernel, the initrd and the root filesystem."""
    live = tree / "live"
    live.mkdir(parents=True)
    shutil.copyfile(root / "boot" / f"vmlinuz-{kver}", live / f"vmlinuz-{kver}")
    shutil.copyfile(initrd, live / f"initrd.img-{kver}")
    squash(root, live / "filesystem.squashfs", exclude_volatile=True)
    point_release = (root / "etc/debian_version").read_text().strip()
    (tree / ".disk").mkdir()
    (tree / ".disk" / "info").write_text(
        f'Debian GNU/Linux {point_release} "Bookworm" - Official amd64 Live full (sik acceptance)\n'
    )


def dracut_live_tree(root: Path, tree: Path, kver: str, initrd: Path) -> None:
    """Fedora ≤ 41 live media: an ext4 root image inside /LiveOS/squashfs.img, the kernel and
    initrd under /images/pxeboot."""
    pxeboot = tree / "images" / "pxeboot"
    pxeboot.mkdir(parents=True)
    shutil.copyfile(root / "boot" / f"vmlinuz-{kver}", pxeboot / "vmlinuz")
    shutil.copyfile(initrd, pxeboot / "initrd.img")
    inner = tree.parent / "squashfs-root"
    (inner / "LiveOS").mkdir(parents=True)
    ext4_image(root, inner / "LiveOS" / "rootfs.img")
    (tree / "LiveOS").mkdir()
    squash(inner, tree / "LiveOS" / "squashfs.img", exclude_volatile=False)
    shutil.rmtree(inner)


def ext4_image(root: Path, image: Path) -> None:
    used_mib = int(run(["du", "-s", "-x", "--block-size=1M", root], capture=True).stdout.split()[0])
    # Room for the journal and metadata, and some free space as a live root normally has.
    size_mib = used_mib * 5 // 4 + 128
    run(["truncate", "-s", f"{size_mib}M", image])
    run(["mkfs.ext4", "-q", "-L", "Anaconda", "-d", root, image])


DEBIAN_LIVE = LiveSystem(
    name="debian-live",
    iso_name="debian-live-full.iso",
    volume_id="d-live 12 full amd64",
    hostname="sik-full-debian",
    install_steps=(("linux-image-amd64", "live-boot", "systemd-sysv"),),
    initrd=initramfs_tools_initrd,
    lay_out=live_boot_tree,
)
DRACUT_LIVE = LiveSystem(
    name="dracut-live",
    iso_name="fedora-full-live.iso",
    volume_id="Fedora-Full-Live-40",
    hostname="sik-full-dracut",
    # dracut first, so that it (not initramfs-tools) satisfies the kernel's initramfs dependency.
    install_steps=(("dracut", "dracut-live", "systemd-sysv"), ("linux-image-amd64",)),
    initrd=dracut_initrd,
    lay_out=dracut_live_tree,
)
SYSTEMS = (DEBIAN_LIVE, DRACUT_LIVE)


def build_iso(system: LiveSystem, build: Path, target: Path) -> None:
    root = build / "chroot"
    kver, initrd = bootstrap(root, system)
    step(f"{system.name}: laying out the ISO (kernel {kver})")
    tree = build / "iso"
    system.lay_out(root, tree, kver, initrd)
    run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-J", "-V", system.volume_id, "-o", target, tree])


def cached_iso(system: LiveSystem, cache: Path) -> Path:
    """The ISO for ``system``, built once per set of package versions; a failed build leaves
    nothing behind, because it happens in a hidden directory renamed into place at the end."""
    key, recipe = cache_key(system)
    final = cache / f"{system.name}-{key}"
    if (final / system.iso_name).is_file():
        step(f"{system.name}: cached {final / system.iso_name}")
        return final / system.iso_name
    cache.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{system.name}-", dir=cache))
    try:
        out = build / "out"
        out.mkdir()
        build_iso(system, build, out / system.iso_name)
        (out / "versions.txt").write_text(recipe)
        out.rename(final)
    finally:
        remove_tree(build)
    return final / system.iso_name


# --- the stick and the boots --------------------------------------------------------------------


def sik(*args: str | os.PathLike[str]) -> None:
    """Run the sik CLI as a user does; any exit code but 0 fails the check."""
    argv = [os.fspath(a) for a in args]
    print(f"$ sik {' '.join(argv)}", file=sys.stderr, flush=True)
    code = subprocess.run([os.fspath(SIK), *argv], check=False).returncode
    if code != 0:
        raise SikError(f"`sik {argv[0]}` exited with {code}")


def make_stick(image: Path, isos: list[Path]) -> None:
    sik("install", "--image", image, "--size", "4G", "--force")
    sik("generate", "--image", image, "--kernel-args", KERNEL_ARGS, "--timeout", "1")
    sik("add", "--image", image, *isos)
    sik("list", "--image", image)


@dataclass(frozen=True)
class Outcome:
    system: LiveSystem
    firmware: Firmware
    result: BootResult


def boot_copy(
    image: Path, system: LiveSystem, firmware: Firmware, work: Path, memory_mb: int
) -> Outcome:
    result = boot_until(
        image,
        firmware,
        system.marker,
        timeout=BOOT_TIMEOUT,
        log_path=work / f"{system.name}-{firmware}.log",
        memory_mb=memory_mb,
    )
    return Outcome(system, firmware, result)


def boot_system(stick: Path, system: LiveSystem, work: Path, memory_mb: int) -> list[Outcome]:
    """Boot ``system``'s entry under both firmwares at once (one QEMU per core)."""
    copies = {}
    for firmware in Firmware:
        copy = work / f"sik-{system.name}-{firmware}.img"
        run(["cp", "--sparse=always", stick, copy])
        sik("boot-once", "--image", copy, system.iso_name)
        copies[firmware] = copy
    step(f"{system.name}: booting under {', '.join(map(str, copies))}, waiting for {system.marker!r}")
    with ThreadPoolExecutor(max_workers=len(copies)) as pool:
        futures = [
            pool.submit(boot_copy, copy, system, firmware, work, memory_mb)
            for firmware, copy in copies.items()
        ]
        return [f.result() for f in futures]


def print_table(outcomes: list[Outcome]) -> None:
    print(f"{'ISO':<24} {'firmware':<9} {'found':<6} {'seconds':>7}  serial log")
    for o in outcomes:
        found = "yes" if o.result.found else "NO"
        print(
            f"{o.system.iso_name:<24} {o.firmware!s:<9} {found:<6} {o.result.seconds:>7.0f}  "
            f"{o.result.log_path}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="directory for the stick and the serial logs")
    parser.add_argument("--keep", action="store_true", help="keep the disk images in the work dir")
    parser.add_argument("--memory", type=int, default=1024, metavar="MB", help="guest memory")
    parser.add_argument("--debug", action="store_true", help="log every command run")
    return parser.parse_args()


def cache_dir() -> Path:
    base = os.environ.get("SIK_TEST_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "sik-tests") / "full-systems"


def check(args: argparse.Namespace) -> bool:
    work = (args.work or Path(tempfile.mkdtemp(prefix="sik-acceptance-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    isos = [cached_iso(system, cache_dir()) for system in SYSTEMS]
    for iso in isos:
        step(f"{iso.name}: {iso.stat().st_size / 2**20:.0f} MiB")
    step(f"ISOs ready after {time.monotonic() - start:.0f} s")
    stick = work / "sik.img"
    make_stick(stick, isos)
    outcomes: list[Outcome] = []
    for system in SYSTEMS:
        outcomes += boot_system(stick, system, work, args.memory)
    if not args.keep:
        for image in work.glob("*.img"):
            image.unlink()
    print_table(outcomes)
    step(f"total {time.monotonic() - start:.0f} s; serial logs in {work}")
    return all(o.result.found for o in outcomes)


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(message)s")
    try:
        ok = check(args)
    except SikError as exc:
        print(f"error: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else ""), file=sys.stderr)
        sys.exit(1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
