"""Menu titles from the richest facts an ISO carries, and several versions of one distribution
in a submenu, newest first, whose entries `sik boot-once` can still name."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.model import BootMethod, Detection, IsoFile, MenuOptions, ScanResult, Submenu
from sik.core.stick import Stick
from sik.menu.generate import build_menu, write_menu
from sik.menu.plan import plan, title
from sik.testkit import IsoLayout, build_iso
from tests.isobuilder import DEBIAN_LIVE, LOOPBACK

P = PurePosixPath


def _detection(**kw: object) -> Detection:
    facts: dict[str, object] = {
        "detector": "x",
        "method": BootMethod.live_boot,
        "distro": "ubuntu",
        "pretty_name": "Ubuntu",
        "kernel": P("/casper/vmlinuz"),
        "cmdline": ("boot=casper", "iso-scan/filename={iso}"),
    }
    return Detection(**(facts | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            {
                "pretty_name": "Ubuntu 24.04.1 LTS",
                "version": "24.04.1",
                "edition": "Desktop",
                "arch": "amd64",
            },
            "Ubuntu 24.04.1 LTS Desktop (amd64)",
        ),
        ({"pretty_name": "Ubuntu", "version": "24.04.1", "edition": "Server"}, "Ubuntu 24.04.1 Server"),
        (
            {
                "pretty_name": "Linux Mint 22 Cinnamon",
                "version": "22",
                "edition": "cinnamon",
                "arch": "x86_64",
            },
            "Linux Mint 22 Cinnamon (x86_64)",
        ),
        ({"pretty_name": "Kali (amd64)", "arch": "amd64"}, "Kali (amd64)"),
        ({"pretty_name": "Debian GNU/Linux", "version": "12.11.0"}, "Debian GNU/Linux 12.11.0"),
        ({"pretty_name": "\x000 label\nfrom ISO"}, "0 label from ISO"),
        ({"pretty_name": "\x00"}, "(no name)"),
    ],
)
def test_title_says_each_fact_once(facts: dict[str, object], expected: str) -> None:
    assert title(_detection(**facts)) == expected


def _scan(name: str, **kw: object) -> ScanResult:
    return ScanResult(IsoFile(P("/boot/iso") / name, 1), _detection(**kw))


def test_versions_of_one_distribution_share_a_submenu_newest_first() -> None:
    results = [
        _scan(
            "a-ubuntu-22.04.iso", pretty_name="Ubuntu 22.04.5 LTS", version="22.04.5", edition="Desktop"
        ),
        _scan("b-other.iso", distro="kali", pretty_name="Kali", version="2025.1"),
        _scan(
            "c-ubuntu-24.04.iso", pretty_name="Ubuntu 24.04.1 LTS", version="24.04.1", edition="Desktop"
        ),
        _scan("d-ubuntu-24.10.iso", pretty_name="Ubuntu 24.10", version="24.10", edition="Desktop"),
        _scan(
            "e-ubuntu-server.iso", pretty_name="Ubuntu 24.04.1 LTS", version="24.04.1", edition="Server"
        ),
    ]
    menu_plan, _ = plan(results, MenuOptions(), None)
    submenu, kali, server = menu_plan.items
    assert isinstance(submenu, Submenu)
    assert (submenu.id, submenu.title) == ("menu-ubuntu-desktop", "Ubuntu Desktop")
    assert [e.id for e in submenu.entries] == [
        "iso-d-ubuntu-24-10",
        "iso-c-ubuntu-24-04",
        "iso-a-ubuntu-22-04",
    ]
    assert [e.title for e in submenu.entries][0] == "Ubuntu 24.10 Desktop"
    assert (kali.id, server.id) == ("iso-b-other", "iso-e-ubuntu-server")  # alone: top level
    assert [e.id for e in menu_plan.entries] == [e.id for e in submenu.entries] + [kali.id, server.id]
    assert menu_plan.grub_path("iso-a-ubuntu-22-04") == "menu-ubuntu-desktop>iso-a-ubuntu-22-04"


def test_isos_nobody_could_name_are_not_grouped() -> None:
    results = [
        _scan(f"{n}.iso", distro="unknown", method=BootMethod.loopback_cfg, pretty_name=n) for n in "ab"
    ]
    menu_plan, _ = plan(results, MenuOptions(), None)
    assert [getattr(item, "id", None) for item in menu_plan.items] == ["iso-a", "iso-b"]
    assert menu_plan.items == menu_plan.entries  # no submenu


def _debian(version: str) -> IsoLayout:
    info = f'Debian GNU/Linux {version} "Bookworm" - Official amd64 LIVE Binary\n'
    return IsoLayout(f"d-live {version} st amd64", DEBIAN_LIVE | {".disk/info": info})


def test_stick_with_two_debian_versions_renders_checks_and_boots_once(stick: Stick) -> None:
    build_iso(_debian("12.9.0"), stick.iso_dir / "debian-live-12.9.0-amd64.iso")
    build_iso(_debian("12.11.0"), stick.iso_dir / "debian-live-12.11.0-amd64.iso")
    build_iso(IsoLayout("OTHER", LOOPBACK), stick.iso_dir / "other.iso")
    menu = build_menu(stick, MenuOptions())
    assert write_menu(stick, menu)  # grub-script-check has read it
    cfg = stick.grub_cfg.read_text(encoding="utf-8")
    submenu = "submenu 'Debian GNU/Linux Live standard' --class debian --id menu-debian-live-standard"
    assert submenu + " {\n" in cfg
    newer = cfg.index("  menuentry 'Debian GNU/Linux 12.11.0 Live standard (amd64)'")
    older = cfg.index("  menuentry 'Debian GNU/Linux 12.9.0 Live standard (amd64)'")
    assert cfg.index("submenu") < newer < older < cfg.index("menuentry OTHER")

    chosen = CliRunner().invoke(
        app, ["boot-once", "debian-live-12.9.0-amd64.iso", "--stick", str(stick.root)]
    )
    assert chosen.exit_code == 0, chosen.output
    chosen_path = b"menu-debian-live-standard>iso-debian-live-12-9-0-amd64"
    assert b"next_entry=" + chosen_path + b"\n" in stick.grubenv.read_bytes()
    by_id = CliRunner().invoke(app, ["boot-once", "iso-other", "--stick", str(stick.root)])
    assert by_id.exit_code == 0 and b"next_entry=iso-other\n" in stick.grubenv.read_bytes()


def test_single_iso_stays_top_level(stick: Stick) -> None:
    build_iso(_debian("12.11.0"), stick.iso_dir / "debian.iso")
    menu = build_menu(stick, MenuOptions())
    assert menu.plan.items == menu.plan.entries
    # Only GRUB's own "New ISOs" submenu, indented under the test that shows it when needed.
    assert not [line for line in menu.grub_cfg.splitlines() if line.startswith("submenu")]


def test_detection_without_edition_keeps_old_titles(tmp_path: Path) -> None:
    assert title(_detection(pretty_name="Fedora live", version="40")) == "Fedora live 40"


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        ({"kernel": None}, "detector x found no kernel for live-boot"),
        ({"method": BootMethod.linux, "kernel": None}, "detector x found no kernel for linux"),
        ({"cmdline": ("label=a\nb",)}, "detector x gave a kernel parameter with a control character"),
    ],
)
def test_a_detection_that_cannot_boot_gets_no_entry(facts: dict[str, object], reason: str) -> None:
    _, (row,) = plan([_scan("x.iso", **facts)], MenuOptions(), None)
    assert row.entry is None and row.notes == (reason,)
