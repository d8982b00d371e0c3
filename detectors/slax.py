"""Slax (the Debian-based Slax 12 and later, and the Slackware-based Slax 15), booted by
Slax's own livekit initramfs.

Fingerprint: /slax/boot/vmlinuz and /slax/boot/initrfs.img next to Slax's modules
(/slax/01-core.sb, ...). The version is read from the ISO's own boot menu title when it has
one ("Run Slax 12.1.0").

Boot parameters, from Slax's boot parameters ("cheat codes") documentation
(https://www.slax.org/, "Slax boot parameters"): ``from=PATH`` loads Slax's data from
another directory or from an ISO file at PATH on any disk. The options of Slax's own menu
(/slax/boot/syslinux.cfg: ``load_ramdisk=1 prompt_ramdisk=0 rw ...``) are kept, except
``slax.flags=`` and ``perch``, which would save changes into the read-only ISO.
Persistence: Slax's ``changes=``/``perch`` is none of sik's persistence kinds, so none.

Not verified against a real ISO (2026-11): the layout (slax/boot/, *.sb modules) and the
"SLAX" label come from the reference notes; detection keys on the files only.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView, first_version, read_menu

_MENUS = ("slax/boot/syslinux.cfg", "slax/boot/isolinux.cfg", "boot/grub/grub.cfg")
_DEFAULT_ARGS = ("load_ramdisk=1", "prompt_ramdisk=0", "rw", "printk.time=0")


class Slax(Detector, name="slax", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        kernel = iso.first_existing("slax/boot/vmlinuz")
        initrd = iso.first_existing("slax/boot/initrfs.img")
        if kernel is None or initrd is None:
            return None
        menu = read_menu(iso, *_MENUS)
        own = menu[0].args if menu else _DEFAULT_ARGS
        kept = tuple(a for a in own if not a.startswith(("slax.flags=", "perch", "from=", "vga=")))
        titles = " ".join(item.title for item in menu)
        return Detection(
            detector=self.name,
            method=BootMethod.slax,
            distro="slax",
            pretty_name="Slax",
            version=first_version(titles) or first_version(iso.volume_id),
            arch="x86_64" if iso.exists("slax/boot/vmlinuz") and "32" not in iso.volume_id else None,
            kernel=kernel,
            initrds=(initrd,),
            cmdline=(*kept, "from={iso}"),
            grub_class="slax",
            evidence=(str(kernel), str(initrd)),
        )
