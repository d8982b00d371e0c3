"""Secondary initrds: deterministic cpio bytes, the hooks they carry, and how the plan and
`sik list` use them (sik/customize/: cpio.py, hooks.py, initrds.py; overlays/)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.model import BootEntry, BootMethod
from sik.core.resources import data_dir
from sik.core.stick import Stick, initrd_on_stick
from sik.customize.cpio import Member, cpio_bytes
from sik.customize.hooks import (
    HOOK_FILES,
    MERGED_USR_LINKS,
    StickCustomizations,
    applicable,
    customize_entry,
    persistence_args,
)
from sik.customize.initrds import initrd_members
from tests.isobuilder import build_iso

UUID = "3aaa77ca-1b21-4e64-b507-78e91202076b"


def _cpio_list(data: bytes) -> list[str]:
    listed = subprocess.run(["cpio", "-itv", "--quiet"], input=data, capture_output=True, check=True)
    return listed.stdout.decode().splitlines()


def test_archive_is_byte_for_byte_identical_across_runs() -> None:
    members = initrd_members("live-boot", UUID)
    first = cpio_bytes(members)
    assert cpio_bytes(list(reversed(members))) == first  # order of the input does not matter
    assert cpio_bytes(initrd_members("live-boot", UUID)) == first
    assert cpio_bytes(members, epoch=1) != first  # the time stamps are in the bytes


def test_source_date_epoch_sets_every_time_stamp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1735689600")
    listing = _cpio_list(cpio_bytes([Member.file("a/b", b"x")]))
    assert len(listing) == 2 and all("Jan  1  2025" in line for line in listing), listing


def test_archive_lists_parents_first_owned_by_root() -> None:
    members = [
        Member.file("sik/stick.conf", b"x\n"),
        Member.file("scripts/live-bottom/sik", b"#!", executable=True),
    ]
    listing = _cpio_list(cpio_bytes(members))
    names = [line.split()[-1] for line in listing]
    assert names == [
        "scripts",
        "scripts/live-bottom",
        "scripts/live-bottom/sik",
        "sik",
        "sik/stick.conf",
    ]
    assert all(" root     root " in line for line in listing)
    assert listing[2].startswith("-rwxr-xr-x") and listing[4].startswith("-rw-r--r--")


@pytest.mark.parametrize("path", ["/etc/x", "../x", "a/../../x"])
def test_member_paths_stay_inside(path: str) -> None:
    with pytest.raises(ValueError):
        cpio_bytes([Member(PurePosixPath(path), b"")])


def test_the_kernel_format_is_plain_newc() -> None:
    data = cpio_bytes([Member.file("a", b"x")])
    assert data.startswith(b"070701") and b"TRAILER!!!" in data


@pytest.mark.parametrize("flavour", sorted(HOOK_FILES))
def test_each_flavour_carries_its_hook_and_the_baked_uuid(flavour: str) -> None:
    listing = [line.split()[-1] for line in _cpio_list(cpio_bytes(initrd_members(flavour, UUID)))]
    for _, dest, _ in HOOK_FILES[flavour]:
        assert dest in listing
    assert {"sik/sik.sh", "sik/run-customize.sh", "sik/stick.conf"} <= set(listing)
    conf = next(m for m in initrd_members(flavour, UUID) if m.path.name == "stick.conf")
    assert conf.data == f"SIK_UUID={UUID}\n".encode()


@pytest.mark.parametrize("flavour", sorted(HOOK_FILES))
def test_no_member_passes_through_a_merged_usr_link(flavour: str) -> None:
    for member in initrd_members(flavour, UUID):
        assert member.path.parts[0] not in MERGED_USR_LINKS, member.path


def _shell_files() -> list[Path]:
    root = data_dir("overlays")
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".md", ".service"))


@pytest.mark.parametrize("shell", ["dash", "busybox ash", "bash --posix"])
def test_hooks_parse_under_every_initramfs_shell(shell: str) -> None:
    argv = shell.split()
    if shutil.which(argv[0]) is None:
        pytest.fail(f"{argv[0]} is missing (dash, busybox-static and bash are in system-packages.txt)")
    for script in _shell_files():
        checked = subprocess.run([*argv, "-n", script], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, f"{script}: {checked.stderr}"


def _entry(method: str, iso: str = "x.iso") -> BootEntry:
    return BootEntry(
        id="iso-x",
        title="X",
        iso=PurePosixPath("/boot/iso") / iso,
        method=BootMethod(method),
        kernel=PurePosixPath("/k"),
        efi_kernel=None,
        initrds=(PurePosixPath("/i"),),
        cmdline=("quiet",),
    )


def test_entries_get_the_initrd_only_when_the_stick_has_something_to_apply() -> None:
    assert customize_entry(_entry("live-boot"), StickCustomizations()).extra_initrds == ()
    found = StickCustomizations(init=True)
    assert customize_entry(_entry("live-boot"), found).extra_initrds == (initrd_on_stick("live-boot"),)
    assert customize_entry(_entry("dracut-live"), found).extra_initrds == (initrd_on_stick("dracut"),)
    for method in ("memtest86+", "loopback.cfg"):
        assert customize_entry(_entry(method), found).extra_initrds == ()


def test_persistence_parameters_per_mechanism() -> None:
    found = StickCustomizations(data_uuid=UUID, persistent_stores=frozenset({"x"}))
    live = customize_entry(_entry("live-boot"), found)
    assert live.cmdline == (
        "quiet",
        "persistence",
        "sik.persistence=/boot/sik/persist/x/persistence",
    )
    # live-boot's store is attached by sik's initrd, so it is loaded even with nothing else.
    assert live.extra_initrds == (initrd_on_stick("live-boot"),)
    dracut = customize_entry(_entry("dracut-live"), found)
    assert dracut.cmdline[1:] == (
        f"rd.live.overlay=/dev/disk/by-uuid/{UUID}:/boot/sik/persist/x/overlay.img",
    )
    assert dracut.extra_initrds == ()
    assert persistence_args("kiwi-live", "x.iso", UUID) == (
        "rd.live.overlay.persistent",
        "rd.live.overlay.cowfs=ext4",
    )
    assert persistence_args("casper", "x.iso", UUID) == (
        "persistent",
        "persistent-path=/boot/sik/persist/x/",
    )
    assert persistence_args("archiso", "x.iso", None) == ()  # needs the UUID
    assert persistence_args("memtest86+", "x.iso", UUID) == ()
    other = customize_entry(_entry("dracut-live", "y.iso"), found)
    assert other.cmdline == ("quiet",)


def test_applicable_marks_what_the_stick_holds() -> None:
    found = StickCustomizations(home=True, persistent_stores=frozenset({"x"}))
    assert applicable("live-boot", found, "x.iso") == (
        "init",
        "overlay",
        "extensions",
        "home*",
        "persistence*",
    )
    assert applicable("archiso", found, "a.iso") == ("persistence",)
    assert applicable("memtest86+", found, "m.iso") == ()


def test_list_and_generate_on_a_customised_stick(tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    stick.mkdir()
    Stick(stick).initialise()
    build_iso(
        stick / "boot/iso/debian.iso",
        {"live/filesystem.squashfs": b"", "live/vmlinuz": b"k", "live/initrd.img": b"i"},
    )
    (stick / "boot/customize/init").write_text("echo hi\n")
    runner = CliRunner()
    generated = runner.invoke(app, ["generate", "--stick", str(stick)])
    assert generated.exit_code == 0, generated.output
    grub_cfg = (stick / "boot/grub/grub.cfg").read_text()
    assert '"(${sik_data})/boot/sik/initrd/live-boot.cpio"' in grub_cfg
    first = (stick / "boot/sik/initrd/live-boot.cpio").read_bytes()
    assert runner.invoke(app, ["generate", "--stick", str(stick)]).exit_code == 0
    assert (stick / "boot/sik/initrd/live-boot.cpio").read_bytes() == first
    listed = runner.invoke(app, ["list", "--stick", str(stick), "--json"])
    row = json.loads(listed.stdout)[0]
    assert row["customizations"] == ["init*", "overlay", "extensions", "home", "persistence"]
    assert row["method"] == "live-boot"  # the existing keys stay
