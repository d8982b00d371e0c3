"""openSUSE installer ISOs (linuxrc). The live ISOs are KIWI's, tested with that detector."""

from __future__ import annotations

from tests.layouts import Layout, grub_entry


def _installer(label: str, media: str) -> Layout:
    return Layout(
        {
            "boot/x86_64/loader/linux": b"kernel",
            "boot/x86_64/loader/initrd": b"initrd",
            "boot/x86_64/loader/isolinux.cfg": "default harddisk\n",
            # libzypp's SUSEMediaVerifier: vendor, media ident, number of media.
            "media.1/media": f"openSUSE\n{media}\n1\n",
            "media.1/products": "/ openSUSE 20241211-0\n",
            "EFI/BOOT/grub.cfg": grub_entry(
                "Installation",
                "/boot/x86_64/loader/linux",
                "/boot/x86_64/loader/initrd",
                "splash=silent",
            ),
            "content": "PRODUCT openSUSE\n",
        },
        label,
    )


LAYOUTS = {
    "opensuse-tumbleweed-dvd": _installer(
        "openSUSE-Tumbleweed-DVD-x86_64", "openSUSE-Tumbleweed-DVD-x86_64-Snapshot20241211-Media"
    ),
    "opensuse-tumbleweed-net": _installer(
        "openSUSE-Tumbleweed-NET-x86_64", "openSUSE-Tumbleweed-NET-x86_64-Snapshot20241211-Media"
    ),
    "opensuse-leap-15.6-dvd": _installer(
        "openSUSE-Leap-15.6-DVD-x86_64", "openSUSE-Leap-15.6-DVD-x86_64-Build710.3-Media"
    ),
}
