"""The Wombat detector's own tests, written with sik's test kit (docs/writing-a-detector.md)."""

from __future__ import annotations

from sik_wombat import Wombat

from sik.testkit import IsoLayout, assert_entry, plan_layout

WOMBAT_32 = IsoLayout(
    volume_id="WOMBAT_3_2",
    files={
        ".disk/info": "Wombat Linux 3.2 x86_64 (20250101)\n",
        "wombat/vmlinuz-6.1.2": b"kernel",
        "wombat/initrd-6.1.2.gz": b"initrd",
        "wombat/vmlinuz-6.1.0": b"older kernel",
        "wombat/initrd-6.1.0.gz": b"older initrd",
        "wombat/wombat.sfs": b"hsqs",
        "wombat/edition": "Garden\n",
        "boot/grub/grub.cfg": "menuentry 'Wombat' { linux /wombat/vmlinuz-6.1.2 }\n",
    },
)


def test_wombat_gets_its_entry() -> None:
    assert_entry(
        WOMBAT_32,
        Wombat,
        file_name="wombat-3.2.iso",
        title="Wombat Linux 3.2 Garden (x86_64)",
        kernel="/wombat/vmlinuz-6.1.2",
        initrds=["/wombat/initrd-6.1.2.gz"],
        cmdline=["wombat.iso=/boot/iso/wombat-3.2.iso", "wombat.root=/wombat/wombat.sfs"],
    )


def test_without_root_image_it_is_not_wombat() -> None:
    files = {k: v for k, v in WOMBAT_32.files.items() if k != "wombat/wombat.sfs"}
    result = plan_layout(IsoLayout("WOMBAT_3_2", files), Wombat)
    assert result.entry is None
    assert "no detector recognises this ISO" in result.row.notes[0]
