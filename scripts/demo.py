"""The main job, end to end, the way a user would do it: sik install, sik add, sik list."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures.liveisos import build_fixture_isos  # noqa: E402

NAMES = {
    "live_boot": "debian-live-12-sik-amd64.iso",
    "dracut_live": "Fedora-Sik-Live-x86_64-40.iso",
    "loopback": "sikdemo-1.0.iso",
    "memtest": "memtest86+x64.iso",
}


def sik(*args: str) -> None:
    print("$ sik " + " ".join(args), file=sys.stderr, flush=True)
    code = subprocess.run([str(ROOT / ".venv" / "bin" / "sik"), *args]).returncode
    if code not in (0, 3):
        sys.exit(code)


def main() -> None:
    image = Path(sys.argv[1] if len(sys.argv) > 1 else "sik.img").resolve()
    print(
        "building the demo ISOs from Debian's packages (cached after the first run) ...", file=sys.stderr
    )
    isos = build_fixture_isos()
    with tempfile.TemporaryDirectory() as tmp:
        sources = []
        for key, name in NAMES.items():
            link = Path(tmp) / name
            link.symlink_to(getattr(isos, key))
            sources.append(str(link))
        sik("install", "--image", str(image), "--force", "--fs", "ext4")
        sik(
            "generate",
            "--image",
            str(image),
            "--kernel-args",
            "console=tty0 console=ttyS0,115200",
            "--serial",
        )
        sik("add", "--image", str(image), *sources)
    sik("list", "--image", str(image))
    print(
        f"\n{image} is ready. Boot it in QEMU (the menu shows on this terminal; quit with Ctrl-a x):\n"
        f"  scripts/boot-demo.sh bios {image}\n"
        f"  scripts/boot-demo.sh uefi {image}\n"
        f"or write it to a USB drive: dd if={image} of=/dev/sdX bs=4M conv=fsync status=progress",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
