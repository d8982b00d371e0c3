"""Acceptance check (not part of the suite): sik's customisations in a full systemd system.

Takes the systemd Debian live ISO of scripts/acceptance_full_systems.py (built and cached
there), puts it on a stick with a /boot/customize/init, an overlay file and an ExtensionImage,
boots it under OVMF and waits for the init script's last line. It proves the systemd half of
overlays/common/sik.sh, which the busybox fixtures of the boot tests cannot: the one-shot
sik-customize.service runs the script, and systemd-sysext merges the image (the script runs the
image's program and lists /run/extensions).

    .venv/bin/python scripts/acceptance_customize_systemd.py [WORKDIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.acceptance_full_systems import DEBIAN_LIVE, cache_dir, cached_iso, sik  # noqa: E402
from sik.core.model import Firmware  # noqa: E402
from sik.drive.open_stick import open_stick  # noqa: E402
from sik.vm.qemu import boot_until  # noqa: E402

INIT = """\
#!/bin/sh
echo "SIK-TEST init ran under $(cat /proc/1/comm)"
[ -f /etc/sik-overlay.txt ] && echo "SIK-TEST overlay: $(cat /etc/sik-overlay.txt)"
/usr/bin/sik-hello
echo "SIK-TEST extensions: $(ls /run/extensions)"
echo "SIK-TEST done"
"""
EXPECTED = (
    "SIK-TEST init ran under systemd",
    "SIK-TEST overlay: from the stick",
    "SIK-TEST extension program ran",
    "SIK-TEST extensions: hello.raw",
)


def main() -> int:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="sik-sysd-"))
    work.mkdir(parents=True, exist_ok=True)
    iso = cached_iso(DEBIAN_LIVE, cache_dir())
    image = work / "sik.img"
    sik("install", "--image", image, "--size", "1G", "--force", "--fs", "ext4")
    sik("generate", "--image", image, "--kernel-args", "console=ttyS0,115200", "--timeout", "1")
    sik("add", "--image", image, iso)
    tree = work / "hello"
    (tree / "usr/bin").mkdir(parents=True, exist_ok=True)
    (tree / "usr/bin/sik-hello").write_text("#!/bin/sh\necho 'SIK-TEST extension program ran'\n")
    (tree / "usr/bin/sik-hello").chmod(0o755)
    sik("extension", "build", tree, "--name", "hello", "--image", image)
    with open_stick(image, None) as stick:
        (stick.root / "boot/customize/init").write_text(INIT)
        (stick.root / "boot/customize/overlay/etc").mkdir(parents=True, exist_ok=True)
        (stick.root / "boot/customize/overlay/etc/sik-overlay.txt").write_text("from the stick\n")
    sik("generate", "--image", image)
    sik("boot-once", "--image", image, iso.name)
    result = boot_until(
        image, Firmware.uefi, "SIK-TEST done", timeout=900, log_path=work / "serial.log", memory_mb=2048
    )
    missing = [line for line in EXPECTED if line not in result.log]
    print(f"booted in {result.seconds:.0f} s; serial log: {work / 'serial.log'}")
    for line in missing:
        print(f"missing: {line}")
    return 0 if result.found and not missing else 1


if __name__ == "__main__":
    sys.exit(main())
