"""A customised stick for the boot tests of sik's secondary initrds, made through the CLI as a
user makes one: install, generate, add, then `sik extension build`, `sik home create`, `sik
persist`, and files copied by hand into /boot/customize/ and /boot/extensions/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sik.drive.open_stick import open_stick
from tests.boot.conftest import SERIAL_MENU
from tests.clirun import sik
from tests.fixtures.liveisos import FixtureIsos, build_fixture_isos

NAMES = {
    "live_boot": "debian-live-12-custom.iso",
    "dracut_live": "Fedora-Custom-Live-x86_64-40.iso",
}

# /boot/customize/init as a user might write it: it reports what it sees on the console, and
# fails on purpose at the end (exit status 3), which must cost one line, not the boot.
CUSTOMIZE_INIT = """\
#!/bin/sh
if grep -q boot=live /proc/cmdline; then key=live-boot; else key=dracut; fi
echo "SIK-TEST init ran in $key"
[ -f /etc/sik-overlay.txt ] && echo "SIK-TEST overlay: $(cat /etc/sik-overlay.txt)"
/usr/bin/sik-hello
echo "SIK-TEST stick: $(ls /run/sik/stick/boot/iso | tr '\\n' ' ')"
echo "$key" >"/run/sik/stick/boot/sik/written-by-$key" && echo "SIK-TEST stick writable"
if [ -f "/home/from-$key" ]; then
    echo "SIK-TEST home kept: $(cat "/home/from-$key")"
else
    echo "an earlier boot" >"/home/from-$key" && echo "SIK-TEST home written"
fi
if [ -f "/etc/from-$key" ]; then
    echo "SIK-TEST etc kept: $(cat "/etc/from-$key")"
else
    echo "an earlier boot" >"/etc/from-$key" && echo "SIK-TEST etc written"
fi
sync
exit 3
"""
OVERLAY_TEXT = "copied from the stick's overlay"
HELLO = "#!/bin/sh\necho 'SIK-TEST extension program ran'\n"


@dataclass(frozen=True)
class CustomStick:
    image: Path
    markers: dict[str, str]  # NAMES key -> the fixture's own marker


def build_custom_stick(isos: FixtureIsos, work: Path) -> CustomStick:
    sources = []
    for key, name in NAMES.items():
        (work / name).symlink_to(getattr(isos, key))
        sources.append(work / name)
    image = work / "custom.img"
    sik("install", "--image", image, "--size", "1G", "--fs", "ext4")
    sik("generate", "--image", image, *SERIAL_MENU)
    sik("add", "--image", image, *sources)
    extension = work / "hello-tree"
    (extension / "usr/bin").mkdir(parents=True)
    (extension / "usr/bin/sik-hello").write_text(HELLO)
    (extension / "usr/bin/sik-hello").chmod(0o755)
    sik("extension", "build", extension, "--name", "hello", "--image", image)
    sik("home", "create", "--size", "32M", "--image", image)
    for name in NAMES.values():
        sik("persist", name, "--size", "64M", "--image", image)
    with open_stick(image, None) as stick:  # what a user copies on by hand
        (stick.root / "boot/customize/init").write_text(CUSTOMIZE_INIT)
        overlay = stick.root / "boot/customize/overlay/etc"
        overlay.mkdir(parents=True)
        (overlay / "sik-overlay.txt").write_text(OVERLAY_TEXT + "\n")
        (stick.root / "boot/extensions/broken.ExtensionImage").write_bytes(b"not squashfs\n" * 512)
    sik("generate", "--image", image)
    return CustomStick(image, {key: isos.markers[key] for key in NAMES})


@pytest.fixture(scope="session")
def custom_stick(tmp_path_factory: pytest.TempPathFactory) -> CustomStick:
    return build_custom_stick(build_fixture_isos(), tmp_path_factory.mktemp("custom"))
