"""sik.testkit, the plugin authors' kit: layouts become real ISOs in every namespace, and the
pipeline helpers report what sik planned, or why not, in sik's own words."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from sik.core.model import BootMethod
from sik.detection.iso import open_iso
from sik.testkit import IsoLayout, assert_entry, build_iso, plan_layout
from tests.isobuilder import DEBIAN_LIVE, FEDORA_LIVE

DEBIAN = IsoLayout("d-live 12.11.0 st amd64", DEBIAN_LIVE)


@pytest.mark.parametrize(
    "rock_ridge,joliet", [(True, False), (False, True), (True, True), (False, False)]
)
def test_layout_reads_back_through_the_iso_facade(
    tmp_path: Path, rock_ridge: bool, joliet: bool
) -> None:
    layout = IsoLayout("FEDORA_40", FEDORA_LIVE, joliet=joliet, rock_ridge=rock_ridge)
    path = build_iso(layout, tmp_path / "f.iso")
    with open_iso(path) as view:
        assert view.volume_id == "FEDORA_40"
        assert view.is_dir("images/pxeboot")
        assert view.read_text("EFI/BOOT/grub.cfg") == "menuentry 'Start Fedora' {}\n"


def test_assert_entry_returns_the_planned_entry() -> None:
    entry = assert_entry(
        DEBIAN,
        file_name="debian-live.iso",
        title="Debian GNU/Linux 12.11.0 Live standard (amd64)",
        kernel="/live/vmlinuz-6.1.0-37-amd64",
        initrds=["/live/initrd.img-6.1.0-37-amd64"],
        cmdline=["boot=live", "components", "findiso=/boot/iso/debian-live.iso"],
    )
    assert entry.method is BootMethod.live_boot and entry.id == "iso-debian-live"


def test_a_wrong_expectation_shows_what_sik_saw() -> None:
    with pytest.raises(AssertionError) as failure:
        assert_entry(DEBIAN, cmdline=["boot=live"])
    message = str(failure.value)
    assert message.startswith("cmdline: expected ('boot=live',), planned ('boot=live', 'components',")
    assert "  debian-live (priority 50): /live/ holds a .squashfs" in message
    assert "    is_dir /live -> yes" in message


def test_no_entry_is_an_assertion_with_the_reason() -> None:
    with pytest.raises(AssertionError, match=r"no menu entry: no detector recognises this ISO"):
        assert_entry(IsoLayout("NOTHING", {"readme.txt": "hi"}))


def test_plan_layout_renders_grub_cfg_and_honours_the_file_name() -> None:
    result = plan_layout(DEBIAN, file_name="my debian.iso")
    # live-boot splits its command line on spaces: the planner refuses rather than guess.
    assert result.entry is None and "white space" in result.row.notes[0]
    ok = plan_layout(DEBIAN, file_name="debian.iso")
    assert ok.entry is not None and ok.entry.kernel == PurePosixPath("/live/vmlinuz-6.1.0-37-amd64")
    assert (
        "menuentry 'Debian GNU/Linux 12.11.0 Live standard (amd64)' --class debian --id iso-debian {"
        in ok.grub_cfg
    )


def test_a_plugin_parameter_holding_the_iso_path_needs_a_path_without_spaces() -> None:
    from sik_wombat import Wombat
    from test_wombat import WOMBAT_32

    result = plan_layout(WOMBAT_32, Wombat, file_name="my wombat.iso")
    assert result.entry is None
    assert result.row.notes == (
        "linux cannot find an ISO whose path contains white space, a quote or a backslash: "
        "rename the file",
    )
