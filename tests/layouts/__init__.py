"""Real layouts of each distribution family's ISOs, reduced to what detectors read: the file
tree (tiny contents), the volume label, /.disk/info and the boot menus that matter.

Each module holds ``LAYOUTS``: a name -> Layout mapping; ``ALL`` merges them. Build one with
``tests.isobuilder.build_iso(path, layout.files, volume_id=layout.volume_id)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    files: Mapping[str, bytes | str]
    volume_id: str

    def build(self, path: Path) -> Path:
        from tests.isobuilder import build_iso

        return build_iso(path, self.files, volume_id=self.volume_id)


def grub_entry(title: str, kernel: str, initrd: str, args: str) -> str:
    """A grub.cfg menuentry as distributions write them."""
    return f'menuentry "{title}" {{\n\tlinux\t{kernel} {args}\n\tinitrd\t{initrd}\n}}\n'


def isolinux_entry(label: str, title: str, kernel: str, append: str) -> str:
    return f"label {label}\n  menu label {title}\n  kernel {kernel}\n  append {append}\n"


def _all() -> dict[str, Layout]:
    from tests.layouts import arch, debian, others, redhat, suse, ubuntu

    merged: dict[str, Layout] = {}
    for module in (ubuntu, debian, redhat, suse, arch, others):
        overlap = merged.keys() & module.LAYOUTS.keys()
        assert not overlap, overlap
        merged.update(module.LAYOUTS)
    return merged


# --- boot files with the insides sik reads at build time (sik/detection/initrd.py) ------------


def bzimage(version: str) -> bytes:
    """The start of an x86 bzImage: the setup header's "HdrS" and a kernel_version pointer
    to the version string (Documentation/arch/x86/boot.rst), as sik reads it."""
    image = bytearray(0x1200)
    image[0x202:0x206] = b"HdrS"
    image[0x206:0x208] = (0x20F).to_bytes(2, "little")  # boot protocol 2.15, as Linux 6.1's
    image[0x20E:0x210] = (0x1000 - 0x200).to_bytes(2, "little")
    text = f"{version} (builder@example.org) #1 SMP PREEMPT_DYNAMIC\0".encode()
    image[0x1000 : 0x1000 + len(text)] = text
    return bytes(image)


def initrd(files: Mapping[str, str | bytes], compression: str = "gzip") -> bytes:
    """A newc initramfs holding ``files`` (scripts executable), compressed as distributions
    compress theirs."""
    import gzip
    import lzma

    from sik.core.run import run
    from sik.customize.cpio import Member, cpio_bytes

    members = [
        Member.file(name, data.encode() if isinstance(data, str) else data, executable=_runs(name))
        for name, data in files.items()
    ]
    raw = cpio_bytes(members)
    if compression == "gzip":
        return gzip.compress(raw, mtime=0)
    if compression == "xz":
        return lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32)
    if compression == "zstd":
        return run(["zstd", "-q", "-c"], input=raw, capture=True).stdout
    return raw


def _runs(name: str) -> bool:
    return name == "init" or name.startswith(("bin/", "sbin/", "scripts/")) or "/bin/" in name


def udeb(files: Mapping[str, bytes]) -> bytes:
    """A Debian installer package: an ar archive with debian-binary, control and data tars."""
    import io
    import lzma
    import tarfile

    def tar_xz(content: Mapping[str, bytes]) -> bytes:
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            for name, data in content.items():
                info = tarfile.TarInfo("./" + name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return lzma.compress(raw.getvalue(), format=lzma.FORMAT_XZ)

    parts = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.xz", tar_xz({"control": b"Package: loop-modules\n"})),
        ("data.tar.xz", tar_xz(files)),
    ]
    out = bytearray(b"!<arch>\n")
    for name, data in parts:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        out += data + (b"\n" if len(data) % 2 else b"")
    return bytes(out)


# A module file as initrds hold them: only its name matters to sik's reader.
MODULE = b"\x7fELF module"


ALL: Mapping[str, Layout] = _all()
