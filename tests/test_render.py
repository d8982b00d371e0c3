"""grub.cfg text: quoting, golden output, and GRUB's own parser as the judge."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from sik.core.model import BootEntry, BootMethod, MenuOptions, Plan, Submenu
from sik.menu.render import grub_quote, render_grub_cfg

GOLDEN = Path(__file__).parent / "golden"
P = PurePosixPath


@pytest.mark.parametrize(
    ("raw", "quoted"),
    [
        ("boot=live", "boot=live"),
        ("(loop)/live/vmlinuz", "(loop)/live/vmlinuz"),
        ("a b", "'a b'"),
        ("it's", "'it'\\''s'"),
        ("$x;y", "'$x;y'"),
        ("{}", "'{}'"),
        ("Ubuntu 24.04 — Überprüfung", "'Ubuntu 24.04 — Überprüfung'"),
        ("", "''"),
    ],
)
def test_grub_quote(raw: str, quoted: str) -> None:
    assert grub_quote(raw) == quoted


def test_grub_quote_refuses_a_line_break() -> None:
    with pytest.raises(ValueError, match="line break"):
        grub_quote("a\nmenuentry evil {")


def _entry(name: str, method: BootMethod, **kw: object) -> BootEntry:
    defaults: dict[str, object] = {
        "id": "iso-" + name.split(".")[0].replace(" ", "-"),
        "title": name,
        "iso": P("/boot/iso") / name,
        "method": method,
        "kernel": P("/live/vmlinuz"),
        "efi_kernel": None,
        "initrds": (P("/live/initrd.img"),),
        "cmdline": ("boot=live", f"findiso=/boot/iso/{name}"),
    }
    defaults.update(kw)
    return BootEntry(**defaults)  # type: ignore[arg-type]


WEIRD = "we'ird $name; {x} ü.iso"


def sample_plan() -> Plan:
    entries = (
        _entry("debian.iso", BootMethod.live_boot, grub_class="debian"),
        _entry(
            "fedora.iso",
            BootMethod.dracut_live,
            kernel=P("/images/pxeboot/vmlinuz"),
            initrds=(P("/images/pxeboot/initrd.img"),),
            cmdline=(
                "root=live:CDLABEL=Fedora\\x20Live",
                "rd.live.image",
                "iso-scan/filename=/boot/iso/fedora.iso",
            ),
        ),
        _entry(
            WEIRD,
            BootMethod.memtest,
            title="Memtest86+ $(reboot) 'x'",
            kernel=P("/boot/floppy.img"),
            efi_kernel=P("/EFI/BOOT/bootx64.efi"),
            initrds=(),
            cmdline=(),
        ),
        _entry("other.iso", BootMethod.loopback_cfg, kernel=None, initrds=(), cmdline=()),
    )
    older = _entry("debian-11.iso", BootMethod.live_boot, title="Debian 11.9.0", grub_class="debian")
    newer = _entry("debian-12.iso", BootMethod.live_boot, title="Debian 12.11.0", grub_class="debian")
    debian = Submenu("menu-debian", "Debian", (newer, older), grub_class="debian")
    return Plan(
        items=(debian, *entries),
        options=MenuOptions(timeout=3, kernel_args=("console=ttyS0",), serial=True),
    )


def test_grub_cfg_matches_golden_file() -> None:
    text = render_grub_cfg(sample_plan())
    golden = GOLDEN / "grub.cfg"
    if os.environ.get("SIK_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_grub_cfg_parses_with_grub_script_check(tmp_path: Path) -> None:
    checker = shutil.which("grub-script-check")
    assert checker, "grub-script-check is missing: run scripts/setup.sh (package grub-common)"
    cfg = tmp_path / "grub.cfg"
    cfg.write_text(render_grub_cfg(sample_plan()), encoding="utf-8")
    subprocess.run([checker, cfg], check=True)


def test_weird_file_name_stays_one_literal_word() -> None:
    text = render_grub_cfg(sample_plan())
    assert "set iso_path='/boot/iso/we'\\''ird $name; {x} ü.iso'" in text
    assert "menuentry 'Memtest86+ $(reboot) '\\''x'\\''' --class linux" in text


def test_empty_plan_gets_a_helpful_entry() -> None:
    text = render_grub_cfg(Plan(items=()))
    assert "No ISO found" in text
    assert 'source "(${sik_data})/boot/sik/custom.cfg"' in text


def test_user_template_overrides_built_in(tmp_path: Path) -> None:
    (tmp_path / "live-boot.j2").write_text("# custom {{ entry.id }}\n", encoding="utf-8")
    text = render_grub_cfg(sample_plan(), user_templates=tmp_path)
    assert "# custom iso-debian" in text
    assert "findiso=/boot/iso/debian.iso" not in text


def test_submenu_holds_its_entries_indented() -> None:
    text = render_grub_cfg(sample_plan())
    block = text[text.index("submenu Debian") : text.index("\n}\n", text.index("submenu Debian"))]
    assert "submenu Debian --class debian --id menu-debian {" in block
    assert block.index("--id iso-debian-12") < block.index("--id iso-debian-11")
    assert "\n  menuentry 'Debian 12.11.0' --class debian --id iso-debian-12 {\n" in block
    assert "\n    linux (loop)/live/vmlinuz boot=live findiso=/boot/iso/debian-12.iso" in block


def test_grub_path_names_the_submenu() -> None:
    plan = sample_plan()
    assert plan.grub_path("iso-debian-11") == "menu-debian>iso-debian-11"
    assert plan.grub_path("iso-fedora") == "iso-fedora"
