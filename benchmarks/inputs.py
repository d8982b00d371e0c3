"""The benchmark's inputs, built once with xorriso and cached ($SIK_BENCH_CACHE or
~/.cache/sik-bench): ISOs laid out like real media, with tiny file contents.

- scaling ISOs of 1,000, 20,000 and 100,000 files, shaped like a Debian DVD (a live system
  plus a pool/main/<letter>/<package>/ tree);
- a 40-ISO stick: three 20,000-file ISOs and thirty-seven of about 1,000 files, in every
  layout sik knows (live-boot, dracut live, loopback.cfg, memtest86+) plus a few it does not;
- a 2 GiB ISO for the copy: a small live ISO followed by 2 GiB of pseudo-random padding
  (real blocks on the disk, not a sparse file, so reading it costs what reading an ISO costs).
"""

from __future__ import annotations

import os
import random
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sik.core.run import run
from sik.core.stick import Stick

FORMAT = 1
GIB = 1024**3
KERNEL = "6.1.0-37-amd64"


@dataclass(frozen=True)
class Sizes:
    scaling: tuple[int, ...] = (1_000, 20_000, 100_000)
    big_isos: int = 3
    big_files: int = 20_000
    small_isos: int = 37
    small_files: int = 1_000
    copy_bytes: int = 2 * GIB


QUICK = Sizes(
    scaling=(100,), big_isos=1, big_files=300, small_isos=2, small_files=100, copy_bytes=8 << 20
)


@dataclass(frozen=True)
class Inputs:
    scaling: dict[int, Path]  # file count -> ISO
    stick: Path  # a stick's data partition as a directory (--stick), 40 ISOs in boot/iso
    copy_iso: Path
    copy_stick: Path  # an empty stick on the same disk, the target of `sik add`


def cache_root() -> Path:
    configured = os.environ.get("SIK_BENCH_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "sik-bench"


def build_inputs(root: Path, sizes: Sizes, say: Callable[[str], None]) -> Inputs:
    root = root / f"v{FORMAT}-{sizes.big_files}-{sizes.small_files}-{sizes.copy_bytes}"
    scaling = {
        n: _cached(root / "scaling" / f"debian-dvd-{n}.iso", say, _shaped("debian", n, "d-live"))
        for n in sizes.scaling
    }
    stick = root / "stick"
    _make_stick(stick)
    for i in range(sizes.big_isos):
        name = f"debian-live-12.{i}.0-amd64-DVD-{i + 1}.iso"
        _cached(
            stick / "boot/iso" / name, say, _shaped("debian", sizes.big_files, f"d-live 12.{i}.0 amd64")
        )
    for i in range(sizes.small_isos):
        shape, name, label = _small(i)
        _cached(stick / "boot/iso" / name, say, _shaped(shape, sizes.small_files, label))
    copy_stick = root / "copy-stick"
    _make_stick(copy_stick)
    copy_iso = _cached(
        root / "copy" / "big-live.iso", say, lambda out: _padded_iso(out, sizes.copy_bytes)
    )
    return Inputs(scaling, stick, copy_iso, copy_stick)


def _make_stick(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    Stick(root).initialise()


def _cached(path: Path, say: Callable[[str], None], build: Callable[[Path], None]) -> Path:
    """Build ``path`` unless it exists; a build appears by rename, so it is always complete."""
    if path.exists():
        return path
    say(f"building {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    build(partial)
    os.replace(partial, path)
    return path


_SMALL_SHAPES = (
    ("debian", "debian-live-12.{n}.0-amd64-{flavour}.iso", "d-live 12.{n}.0 {flavour} amd64", 12),
    ("dracut", "Fedora-{flavour}-Live-x86_64-4{n}-1.1.iso", "Fedora-{flavour}-Live-4{n}-1-1", 10),
    ("loopback", "ubuntu-2{n}.04-{flavour}-amd64.iso", "Ubuntu 2{n}.04 {flavour}", 8),
    ("memtest", "memtest86+-7.{n}-{flavour}.iso", "MT86PLUS_64", 4),
    ("unknown", "windows-like-{n}-{flavour}.iso", "CCCOMA_X64FRE_{n}", 3),
)
_FLAVOURS = ("standard", "xfce", "kde", "gnome", "lxqt", "mate", "cinnamon", "server", "budgie", "sway")


def _small(index: int) -> tuple[str, str, str]:
    """The index-th of the 37 small ISOs: (shape, file name, volume label)."""
    for shape, name, label, count in _SMALL_SHAPES:
        if index < count:
            values = {"n": index, "flavour": _FLAVOURS[index % len(_FLAVOURS)]}
            return shape, name.format(**values), label.format(**values)[:32]
        index -= count
    return "unknown", f"other-{index}.iso", f"OTHER_{index}"


def _shaped(shape: str, files: int, label: str) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        tree = out.with_name(out.name + ".tree")
        shutil.rmtree(tree, ignore_errors=True)
        count = _marker_files(tree, shape)
        _filler(tree, max(0, files - count), seed=zlib.crc32(f"{shape} {label}".encode()))
        _xorriso(tree, label, out)
        shutil.rmtree(tree)

    return build


def _marker_files(tree: Path, shape: str) -> int:
    """The files detectors look at, as the real media lay them out; returns how many."""
    markers: dict[str, str] = {
        "debian": {
            f"live/vmlinuz-{KERNEL}": "kernel",
            f"live/initrd.img-{KERNEL}": "initrd",
            "live/filesystem.squashfs": "hsqs",
            ".disk/info": 'Debian GNU/Linux 12.11.0 "Bookworm" - Official amd64 LIVE Binary\n',
            "boot/grub/grub.cfg": "menuentry 'Live' {}\n",
        },
        "dracut": {
            "LiveOS/squashfs.img": "hsqs",
            "images/pxeboot/vmlinuz": "kernel",
            "images/pxeboot/initrd.img": "initrd",
            "EFI/BOOT/grub.cfg": "menuentry 'Start' {}\n",
        },
        "loopback": {
            "boot/grub/loopback.cfg": "menuentry 'x' { linux /casper/vmlinuz }\n",
            "casper/vmlinuz": "k",
        },
        "memtest": {"EFI/BOOT/bootx64.efi": "MZ", "boot/floppy.img": "\0" * 512},
        "unknown": {"sources/install.wim": "MSWIM", "setup.exe": "MZ"},
    }[shape]
    for name, content in markers.items():
        _write(tree / name, content)
    return len(markers)


def _filler(tree: Path, count: int, seed: int) -> None:
    """``count`` small files in a package pool: pool/main/<letter>/<package>/<file>, five files
    a package, as many packages a letter as it takes."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    for i in range(count):
        package = f"{letters[(i // 5) % 26]}{rng.choice(letters)}pkg-{i // 5:06d}"
        _write(tree / "pool/main" / package[0] / package / f"{package}_1.{i % 5}-1_amd64.deb", f"{i}\n")


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def _xorriso(tree: Path, label: str, out: Path) -> None:
    # Rock Ridge and Joliet, as distribution media carry them.
    options = ["-quiet", "-r", "-J", "-joliet-long", "-V", label]
    run(["xorriso", "-as", "mkisofs", *options, "-o", os.fspath(out), os.fspath(tree)])


def _padded_iso(out: Path, size: int) -> None:
    _shaped("debian", 50, "d-live 12.11.0 big amd64")(out)
    block = random.Random(1).randbytes(64 << 20)
    with open(out, "r+b") as f:
        f.seek(0, os.SEEK_END)
        while (left := size - f.tell()) > 0:
            f.write(block[:left])
        f.flush()
        os.fsync(f.fileno())
