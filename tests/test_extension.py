"""ExtensionImages, the persistent home and per-ISO persistence, made on a stick directory
through the CLI (sik/customize/extensions.py, sik/customize/home.py, sik/customize/persistence.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.errors import StickError
from sik.core.model import FsType
from sik.core.stick import Stick
from sik.customize.extensions import build_extension
from sik.customize.home import create_home
from sik.customize.persistence import create_persistence
from tests.clirun import sik

runner = CliRunner()


def _tree(root: Path) -> Path:
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/hello").write_text("#!/bin/sh\necho hello\n")
    (root / "usr/bin/hello").chmod(0o755)
    (root / "opt/tool").mkdir(parents=True)
    (root / "opt/tool/data").write_text("x\n")
    return root


def _stick(tmp_path: Path) -> Path:
    stick = tmp_path / "stick"
    stick.mkdir()
    Stick(stick).initialise()
    return stick


def _unsquash_list(image: Path) -> list[str]:
    out = subprocess.run(
        ["unsquashfs", "-lls", "-d", "", image], capture_output=True, text=True, check=True
    )
    return [line for line in out.stdout.splitlines() if line.startswith(("-", "d", "l"))]


def test_build_writes_a_sysext_image_reproducibly(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    first = build_extension(tree, "hello", tmp_path / "a" / "hello.ExtensionImage")
    (tree / "usr/bin/hello").touch()  # a newer mtime must not change the bytes
    second = build_extension(tree, "hello", tmp_path / "b" / "hello.ExtensionImage")
    assert first.read_bytes() == second.read_bytes()
    listing = _unsquash_list(first)
    paths = [line.split()[-1] for line in listing]
    assert "/usr/lib/extension-release.d/extension-release.hello" in paths
    assert "/usr/bin/hello" in paths and "/opt/tool/data" in paths
    assert all(" root/root " in line for line in listing)
    assert not list(first.parent.glob(".*partial"))  # nothing left behind
    extracted = tmp_path / "x"
    subprocess.run(["unsquashfs", "-q", "-d", extracted, first], check=True, capture_output=True)
    release = extracted / "usr/lib/extension-release.d/extension-release.hello"
    assert release.read_text() == "ID=_any\n"


def test_build_keeps_an_extension_release_of_the_users(tmp_path: Path) -> None:
    tree = _tree(tmp_path / "tree")
    own = tree / "usr/lib/extension-release.d/extension-release.hello"
    own.parent.mkdir(parents=True)
    own.write_text("ID=debian\nVERSION_ID=12\n")
    image = build_extension(tree, "hello", tmp_path / "hello.ExtensionImage")
    subprocess.run(["unsquashfs", "-q", "-d", tmp_path / "x", image], check=True, capture_output=True)
    assert (
        tmp_path / "x/usr/lib/extension-release.d/extension-release.hello"
    ).read_text() == own.read_text()


@pytest.mark.parametrize(
    ("top", "message"),
    [("etc", "may only hold usr/ and opt/"), (None, "holds no files")],
)
def test_build_refuses_a_bad_tree(tmp_path: Path, top: str | None, message: str) -> None:
    tree = tmp_path / "tree"
    (tree / "usr").mkdir(parents=True)
    if top:
        (tree / top).mkdir()
        (tree / top / "f").write_text("x")
    result = runner.invoke(
        app, ["extension", "build", str(tree), "--name", "x", "-o", str(tmp_path / "x.img")]
    )
    assert result.exit_code == 1
    assert message in str(result.exception)
    assert not (tmp_path / "x.img").exists()


@pytest.mark.parametrize("name", ["../x", "a b", "", ".hidden", "x" * 80])
def test_build_refuses_a_bad_name(tmp_path: Path, name: str) -> None:
    tree = _tree(tmp_path / "tree")
    result = runner.invoke(
        app, ["extension", "build", str(tree), "--name", name, "-o", str(tmp_path / "x")]
    )
    assert result.exit_code == 1 and "bad extension name" in str(result.exception)


def test_extension_commands_on_a_stick(tmp_path: Path) -> None:
    stick = _stick(tmp_path)
    tree = _tree(tmp_path / "tree")
    built = runner.invoke(
        app, ["extension", "build", str(tree), "--name", "hello", "--stick", str(stick)]
    )
    assert built.exit_code == 0, built.output
    assert (stick / "boot/extensions/hello.ExtensionImage").is_file()
    # The manifest follows sik's own writes (issue 13, item 15): verify passes right after.
    sik("verify", "--stick", stick)
    listed = runner.invoke(app, ["extension", "list", "--stick", str(stick), "--json"])
    assert [e["name"] for e in json.loads(listed.stdout)] == ["hello"]
    missing = runner.invoke(app, ["extension", "remove", "nope", "--stick", str(stick)])
    assert missing.exit_code == 1 and "no ExtensionImage named 'nope'" in str(missing.exception)
    removed = runner.invoke(app, ["extension", "remove", "hello", "--stick", str(stick)])
    assert removed.exit_code == 0, removed.output
    assert not (stick / "boot/extensions/hello.ExtensionImage").exists()
    assert "hello" not in sik("verify", "--stick", stick).output


def _label(path: Path) -> str:
    out = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", path], capture_output=True, text=True)
    return out.stdout.strip()


def test_home_is_a_sparse_ext4_image_labelled_sik_home(tmp_path: Path) -> None:
    stick = _stick(tmp_path)
    result = runner.invoke(app, ["home", "create", "--size", "64M", "--stick", str(stick)])
    assert result.exit_code == 0, result.output
    home = stick / "home.img"
    assert home.stat().st_size == 64 * 2**20
    assert home.stat().st_blocks * 512 < home.stat().st_size  # sparse
    assert _label(home) == "sik-home"
    again = runner.invoke(app, ["home", "create", "--size", "64M", "--stick", str(stick)])
    assert again.exit_code == 1 and "already has a persistent home" in str(again.exception)


def test_home_too_big_for_fat32_or_for_the_free_space(tmp_path: Path) -> None:
    stick = Stick(_stick(tmp_path), fs=FsType.fat32)
    with pytest.raises(StickError, match="cannot hold a file of 5.0 GiB"):
        create_home(stick, 5 * 2**30)
    with pytest.raises(StickError, match="not enough space on the stick"):
        create_home(Stick(stick.root, fs=FsType.ext4), 2**50)
    assert not list(stick.root.iterdir()) or not (stick.root / "home.img").exists()


def test_persistence_layout_per_mechanism(tmp_path: Path) -> None:
    stick = Stick(_stick(tmp_path), fs=FsType.ext4)
    uuid = "3aaa77ca-1b21-4e64-b507-78e91202076b"
    live = create_persistence(stick, "debian.iso", "live-boot", 32 * 2**20, uuid)
    assert live == stick.root / "boot/sik/persist/debian/persistence"
    assert _label(live) == "persistence"
    conf = subprocess.run(
        ["debugfs", "-R", "cat /persistence.conf", live], capture_output=True, text=True
    )
    assert conf.stdout == "/ union\n"
    dracut = create_persistence(stick, "fedora.iso", "dracut-live", 32 * 2**20, uuid)
    assert dracut.name == "overlay.img" and dracut.stat().st_size == 32 * 2**20
    assert _label(dracut) == ""  # zeros: dm-snapshot starts a fresh store
    assert _label(create_persistence(stick, "u.iso", "casper", 32 * 2**20, uuid)) == "casper-rw"
    # KIWI's cow file sits where kiwi-live looks when the ISO is loop-booted: one per partition.
    kiwi = create_persistence(stick, "o.iso", "kiwi-live", 32 * 2**20, None)
    assert kiwi == stick.root / "live_system.cow" and _label(kiwi) == "cow"
    assert kiwi.stat().st_size == 32 * 2**20
    assert (stick.root / "boot/sik/persist/o").is_dir()
    with pytest.raises(StickError, match="already has persistence"):
        create_persistence(stick, "o.iso", "kiwi-live", 32 * 2**20, uuid)
    with pytest.raises(StickError, match="already has KIWI's cow file"):
        create_persistence(stick, "o2.iso", "kiwi-live", 32 * 2**20, uuid)
    assert not (stick.root / "boot/sik/persist/o2").exists()
    assert create_persistence(stick, "a.iso", "archiso", 0, uuid).is_dir()
    with pytest.raises(StickError, match="already has persistence"):
        create_persistence(stick, "debian.iso", "live-boot", 32 * 2**20, uuid)
    with pytest.raises(StickError, match="UUID, which is unknown"):
        create_persistence(stick, "f2.iso", "dracut-live", 32 * 2**20, None)


def test_persist_command_refuses_an_iso_it_does_not_know(tmp_path: Path) -> None:
    stick = _stick(tmp_path)
    result = runner.invoke(app, ["persist", "nope.iso", "--size", "64M", "--stick", str(stick)])
    assert result.exit_code == 1 and "no bootable ISO named 'nope.iso'" in str(result.exception)


def test_verify_passes_right_after_home_create_and_persist(tmp_path: Path) -> None:
    """home.img and persistence stores are the booted systems' to change, so the manifest does
    not track them; `sik verify` passes right after either command, as after `sik add`."""
    from tests.isobuilder import DEBIAN_LIVE, build_iso

    stick = _stick(tmp_path)
    iso = build_iso(tmp_path / "debian.iso", DEBIAN_LIVE)
    sik("add", "--stick", stick, iso)
    sik("home", "create", "--size", "64M", "--stick", stick)
    sik("verify", "--stick", stick)
    sik("persist", "debian.iso", "--size", "32M", "--stick", stick)
    assert "1 file(s) intact" in sik("verify", "--stick", stick).output
