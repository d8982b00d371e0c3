"""Filesystem modules from the ISO itself (Medium.iso_file_fsmod): finding them in the ISO's
root squashfs, choosing the strategy, and the secondary initrd that loads them
(sik/detection/kmodules.py, sik/menu/medium.py, sik/menu/fsmods.py, sik/customize/fsmod.py).

The ISOs here are built in the test: a bzImage setup header, a real squashfs made by
mksquashfs holding a module tree, and Debian live's layout around them."""

from __future__ import annotations

import gzip
import json
import lzma
import subprocess
from pathlib import Path, PurePosixPath

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.model import BootMethod, Detection, FsModule, FsType, Medium, MenuOptions
from sik.core.stick import Stick
from sik.detection.detect import LoadedDetector
from sik.detection.kmodules import FoundModules, NoModules, locate_modules, read_modules
from sik.menu.generate import build_menu, write_menu
from sik.menu.listing import list_stick
from sik.menu.medium import choose_medium, needs_fs_module
from tests.isobuilder import build_iso

RELEASE = "6.1.0-57-amd64"
KERNEL = PurePosixPath(f"/live/vmlinuz-{RELEASE}")
# What a signed module ends with (scripts/sign-file appends it after the signature).
SIGNED = b"~Module signature appended~\n"
EXFAT_KO = b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 40 + SIGNED


def bzimage(release: str | None = RELEASE) -> bytes:
    """The first 16 KiB of an x86 kernel: a setup header whose version pointer (0x20E, relative
    to 0x200) names "RELEASE (builder) #1 SMP ...", or no header at all."""
    image = bytearray(16384)
    if release is None:
        return bytes(image)
    image[0x202:0x206] = b"HdrS"
    image[0x206:0x208] = (0x020F).to_bytes(2, "little")
    text = f"{release} (debian-kernel@lists.debian.org) #1 SMP Debian\0".encode()
    image[0x20E:0x210] = (0x3000 - 0x200).to_bytes(2, "little")
    image[0x3000 : 0x3000 + len(text)] = text
    return bytes(image)


def squashfs(tmp_path: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    root = tmp_path / "root"
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    for name, target in (links or {}).items():
        (root / name).symlink_to(target)
    image = tmp_path / "root.squashfs"
    options = ["-noappend", "-all-root", "-no-progress", "-quiet", "-comp", "gzip"]
    subprocess.run(["mksquashfs", root, image, *options], check=True, stdout=subprocess.DEVNULL)
    return image.read_bytes()


def module_tree(
    name: str = "exfat.ko", data: bytes = EXFAT_KO, release: str = RELEASE
) -> dict[str, bytes]:
    base = f"usr/lib/modules/{release}"
    return {
        f"{base}/kernel/fs/exfat/{name}": data,
        f"{base}/kernel/fs/fat/vfat.ko": b"\x7fELF vfat",
        f"{base}/modules.builtin": b"kernel/fs/ext4/ext4.ko\n",
        "sbin/init": b"#!/bin/sh\n",
    }


def live_iso(path: Path, root: bytes, kernel: bytes | None = None) -> Path:
    return build_iso(
        path,
        {
            f"live/vmlinuz-{RELEASE}": kernel if kernel is not None else bzimage(),
            f"live/initrd.img-{RELEASE}": b"initrd",
            "live/filesystem.squashfs": root,
            ".disk/info": 'Debian GNU/Linux 12.11.0 "Bookworm" - Official amd64 LIVE Binary\n',
        },
        volume_id="d-live 12.11.0 st amd64",
    )


def _zstd(data: bytes) -> bytes:
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout


@pytest.mark.parametrize(
    ("name", "pack"),
    [
        ("exfat.ko", lambda d: d),  # Debian 12
        ("exfat.ko.xz", lambda d: lzma.compress(d, check=lzma.CHECK_CRC32)),  # Debian 13, Fedora
        ("exfat.ko.zst", _zstd),  # Ubuntu 23.10+, Arch, openSUSE
        ("exfat.ko.gz", gzip.compress),
    ],
)
def test_module_is_found_in_the_root_squashfs_and_read_back_as_signed(
    tmp_path: Path, name: str, pack: object
) -> None:
    assert callable(pack)
    root = squashfs(tmp_path, module_tree(name, pack(EXFAT_KO)), links={"lib": "usr/lib"})
    iso = live_iso(tmp_path / "debian.iso", root)
    found = locate_modules(iso, KERNEL, FsType.exfat)
    member = PurePosixPath(f"usr/lib/modules/{RELEASE}/kernel/fs/exfat/{name}")
    assert found == FoundModules(RELEASE, PurePosixPath("/live/filesystem.squashfs"), (member,))
    # Decompressed, the module is the very file the distribution signed: it still loads under
    # lockdown (the kernel signs modules before compressing them).
    assert read_modules(iso, found) == (("exfat.ko", EXFAT_KO),)


def test_module_tree_outside_usr_and_updates_first(tmp_path: Path) -> None:
    files = {
        f"lib/modules/{RELEASE}/kernel/fs/exfat/exfat.ko": b"\x7fELF kernel's own",
        f"lib/modules/{RELEASE}/updates/exfat.ko": EXFAT_KO,
    }
    iso = live_iso(tmp_path / "debian.iso", squashfs(tmp_path, files))
    found = locate_modules(iso, KERNEL, FsType.exfat)
    assert isinstance(found, FoundModules)
    assert found.members == (PurePosixPath(f"lib/modules/{RELEASE}/updates/exfat.ko"),)


def test_release_comes_from_the_module_tree_when_the_kernel_has_no_header(tmp_path: Path) -> None:
    iso = live_iso(tmp_path / "debian.iso", squashfs(tmp_path, module_tree()), kernel=bzimage(None))
    found = locate_modules(iso, KERNEL, FsType.exfat)
    assert isinstance(found, FoundModules) and found.release == RELEASE


@pytest.mark.parametrize(
    ("files", "kernel", "reason", "built_in"),
    [
        (
            module_tree(release="6.1.0-9-amd64"),
            bzimage(),
            f"the ISO's squashfs images hold no exfat.ko for kernel {RELEASE}",
            False,
        ),
        (
            {f"usr/lib/modules/{RELEASE}/modules.builtin": b"kernel/fs/exfat/exfat.ko\n"},
            bzimage(),
            f"kernel {RELEASE} has exfat built in",
            True,
        ),
        (
            {"sbin/init": b"#!/bin/sh\n"},
            bzimage(None),
            "the ISO's squashfs images hold no exfat.ko for its kernel",
            False,
        ),
    ],
)
def test_no_module_says_why(
    tmp_path: Path, files: dict[str, bytes], kernel: bytes, reason: str, built_in: bool
) -> None:
    iso = live_iso(tmp_path / "debian.iso", squashfs(tmp_path, files), kernel=kernel)
    assert locate_modules(iso, KERNEL, FsType.exfat) == NoModules(reason, built_in)


def test_no_squashfs_beside_the_kernel(tmp_path: Path) -> None:
    iso = live_iso(tmp_path / "debian.iso", b"not a squashfs image")
    found = locate_modules(iso, KERNEL, FsType.exfat)
    assert found == NoModules(f"no squashfs image beside {KERNEL} holds a module tree")


def _medium(method: BootMethod, fs: FsType | None, module: FsModule | NoModules | None) -> Medium | None:
    """The rung the one ladder (sik/menu/medium.py) gives an ISO of ``method`` without the
    facts a virtual CD needs: what the filesystem module alone decides."""
    detection = Detection("t", method, "t", "T", kernel=KERNEL, cmdline=("findiso={iso}",))
    return choose_medium(detection, "/boot/iso/x.iso", 2**20, fs, None, None, None, module).medium


def test_medium_order_of_preference() -> None:
    module = FsModule(FsType.exfat, RELEASE, PurePosixPath("/live/x"), (), PurePosixPath("/i"))
    live = BootMethod.live_boot
    assert _medium(BootMethod.memtest, FsType.exfat, None) is Medium.grub
    assert _medium(live, FsType.ext4, None) is Medium.iso_file
    assert _medium(live, None, None) is Medium.iso_file  # filesystem unknown
    assert _medium(BootMethod.dracut_live, FsType.exfat, None) is Medium.iso_file
    assert _medium(live, FsType.exfat, module) is Medium.iso_file_fsmod
    assert _medium(live, FsType.exfat, NoModules("none")) is None
    assert _medium(live, FsType.exfat, NoModules("built in", built_in=True)) is Medium.iso_file
    # Looked for only where an initramfs lacks the driver and sik has a hook to load it.
    assert needs_fs_module(live, FsType.exfat) and needs_fs_module(BootMethod.casper, FsType.exfat)
    assert not needs_fs_module(live, FsType.fat32)
    assert not needs_fs_module(BootMethod.dracut_live, FsType.exfat)
    assert not needs_fs_module(BootMethod.nixos, FsType.exfat)  # no early hook sik knows


def _exfat_stick(tmp_path: Path, name: str = "stick") -> Stick:
    stick = Stick(tmp_path / name, FsType.exfat)
    stick.root.mkdir()
    stick.initialise()
    return stick


def _cpio(data: bytes, tmp_path: Path) -> dict[str, bytes]:
    out = tmp_path / "unpacked"
    out.mkdir()
    subprocess.run(["cpio", "-i", "-d", "--quiet"], input=data, cwd=out, check=True)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_generate_loads_the_isos_own_module_on_an_exfat_stick(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = squashfs(tmp_path, module_tree("exfat.ko.xz", lzma.compress(EXFAT_KO)))
    sticks = [_exfat_stick(tmp_path, "one"), _exfat_stick(tmp_path, "two")]
    written = []
    for stick in sticks:
        live_iso(stick.iso_dir / "debian.iso", root)
        menu = build_menu(stick, MenuOptions(), detectors)
        write_menu(stick, menu)
        (row,) = menu.rows
        assert row.entry is not None and row.entry.medium is Medium.iso_file_fsmod
        assert row.fs_module is not None and row.fs_module.initrd in row.entry.extra_initrds
        assert row.medium_detail == f"exfat.ko for {RELEASE} from /live/filesystem.squashfs"
        assert f'"(${{sik_data}}){row.fs_module.initrd}"' in menu.grub_cfg
        written.append((stick.root / row.fs_module.initrd.relative_to("/")).read_bytes())
    assert written[0] == written[1]  # the same ISO gives the same bytes, wherever it lies
    files = _cpio(written[0], tmp_path)
    assert files["sik/fsmod/exfat.ko"] == EXFAT_KO
    assert files["sik/fsmod/order"] == b"exfat.ko\n"
    assert files["sik/fsmod/release"] == f"{RELEASE}\n".encode()
    assert b"insmod" in files["conf/conf.d/sik-fsmod"]

    # A warm run reads the answer from the stick: without unsquashfs on PATH, nothing changes.
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    warm = build_menu(sticks[0], MenuOptions(), detectors)
    assert warm.rows[0].entry is not None and warm.rows[0].entry.medium is Medium.iso_file_fsmod
    assert not write_menu(sticks[0], warm)


def test_fsmod_initrd_leaves_with_its_iso(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    stick = _exfat_stick(tmp_path)
    iso = live_iso(stick.iso_dir / "debian.iso", squashfs(tmp_path, module_tree()))
    write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    initrds = stick.sik_dir / "initrd"
    assert len(list(initrds.glob("fsmod-*.cpio"))) == 1
    iso.unlink()
    write_menu(stick, build_menu(stick, MenuOptions(), detectors))
    assert list(initrds.glob("fsmod-*.cpio")) == []


def test_without_a_module_the_entry_says_why(
    tmp_path: Path, detectors: tuple[LoadedDetector, ...]
) -> None:
    stick = _exfat_stick(tmp_path)
    live_iso(stick.iso_dir / "debian.iso", squashfs(tmp_path, {"sbin/init": b"#!/bin/sh\n"}))
    (row,) = build_menu(stick, MenuOptions(), detectors).rows
    assert row.entry is not None and row.fs_module is None
    # The ISO-file entry stays, with a warning that says why no later rung of the ladder
    # took it: first the module's absence (the initrd of this layout is no real one, so the
    # virtual CD and RAM rungs say they cannot read it).
    (note,) = row.notes
    assert note.startswith(
        "live-boot's initrd cannot read the stick's exfat: use an ext4 stick for this ISO (nor with a "
        f"filesystem module from the ISO: the ISO's squashfs images hold no exfat.ko for kernel "
        f"{RELEASE}; nor as a virtual CD: "
    )


def test_ext4_stick_needs_no_module(tmp_path: Path, detectors: tuple[LoadedDetector, ...]) -> None:
    stick = Stick(tmp_path / "stick", FsType.ext4)
    stick.root.mkdir()
    stick.initialise()
    live_iso(stick.iso_dir / "debian.iso", squashfs(tmp_path, module_tree()))
    (row,) = build_menu(stick, MenuOptions(), detectors).rows
    assert row.entry is not None and row.entry.medium is Medium.iso_file and row.fs_module is None
    assert not stick.fsmod_cache_file.exists()


def test_list_and_detect_show_the_medium(tmp_path: Path) -> None:
    iso = live_iso(tmp_path / "debian.iso", squashfs(tmp_path, module_tree()))
    result = CliRunner().invoke(app, ["detect", str(iso), "--json"])
    assert result.exit_code == 0, result.output
    media = json.loads(result.stdout)["media"]
    assert media["ext4"] == {"medium": "ISO file", "detail": None}
    assert media["exfat"] == {
        "medium": "ISO file + filesystem module from the ISO",
        "detail": f"exfat.ko for {RELEASE} from /live/filesystem.squashfs",
    }
    explained = CliRunner().invoke(app, ["detect", str(iso), "--explain"])
    assert "    medium on exfat: ISO file + filesystem module from the ISO (exfat.ko" in explained.output

    stick = _exfat_stick(tmp_path)
    (stick.iso_dir / "debian.iso").write_bytes(iso.read_bytes())
    (row,) = list_stick(stick)
    assert row.json()["medium"] == "ISO file + filesystem module from the ISO"
    assert row.shown_medium == (
        "ISO file + filesystem module from the ISO "
        f"(exfat.ko for {RELEASE} from /live/filesystem.squashfs)"
    )
