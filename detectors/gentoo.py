"""Gentoo's minimal installation, admin and LiveGUI ISOs.

Fingerprint: /image.squashfs with the kernel /boot/gentoo and initramfs /boot/gentoo.igz
(older media: /isolinux/gentoo and gentoo.igz). Gentoo's release media moved from a genkernel
initramfs to a dracut one in 2024; which one an ISO has is read from its own menus
(boot/grub/grub.cfg, isolinux/isolinux.cfg): dracut's says ``root=live:`` /
``rd.live.squashimg=``, genkernel's says ``looptype=squashfs loop=/image.squashfs``.

Checked (2026-11): github gentoo/releng releases/specs/amd64/installcd-stage2-minimal.spec
sets ``livecd/volid: Gentoo-amd64-@DATESTAMP@`` and builds the initramfs with dracut
(``boot/kernel/gentoo/dracut_args: ... -a dmsquash-live``): the label is "Gentoo-amd64-<date>",
not a fixed "ISOIMAGE" (which the older reference notes suggested); the detector reads the
label the ISO has and never assumes one. Not verified: the admincd/livegui labels and the
exact DATESTAMP format (the version shown is the first 20yymmdd date in the label or titles).

Boot parameters:
- dracut: dracut.cmdline(7) (dmsquash-live): ``root=live:CDLABEL=<label>`` ``rd.live.dir=/``
  and ``rd.live.squashimg=image.squashfs`` (the image sits at the ISO's root), and
  ``iso-scan/filename=PATH`` to find the ISO file; Gentoo's menus add ``cdroot``.
  Persistence: ``rd.live.overlay=`` (key "dracut").
- genkernel: genkernel's linuxrc (gentoo/genkernel: defaults/linuxrc, documented in
  genkernel(8)): ``cdroot`` with ``looptype=squashfs loop=/image.squashfs`` and
  ``isoboot=PATH``, which makes it mount the ISO file found on a partition as the CD.
  Persistence: none.
"""

from __future__ import annotations

import re

from sik.api import BootMethod, Detection, Detector, IsoView, arch_from_name, read_menu, udev_label

_MENUS = ("boot/grub/grub.cfg", "isolinux/isolinux.cfg", "grub/grub.cfg")
_EDITIONS = ("minimal", "admincd", "livegui")


class Gentoo(Detector, name="gentoo", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.exists("image.squashfs"):
            return None
        for directory in ("boot", "isolinux"):
            kernel = iso.first_existing(f"{directory}/gentoo")
            initrd = iso.first_existing(f"{directory}/gentoo.igz")
            if kernel and initrd:
                break
        else:
            return None
        menu = read_menu(iso, *_MENUS)
        args = {a.split("=")[0] for item in menu for a in item.args}
        label = iso.volume_id
        if "rd.live.squashimg" in args or "root" in args and "rd.live.dir" in args:
            method, persistence = BootMethod.dracut_live, "dracut"
            cmdline: tuple[str, ...] = (
                f"root=live:CDLABEL={udev_label(label)}",
                "rd.live.dir=/",
                "rd.live.squashimg=image.squashfs",
                "cdroot",
                "iso-scan/filename={iso}",
            )
        elif "looptype" in args:
            method, persistence = BootMethod.genkernel, None
            cmdline = ("root=/dev/ram0", "init=/linuxrc", "looptype=squashfs", "loop=/image.squashfs")
            cmdline += ("cdroot", "isoboot={iso}")
        else:
            return None
        titles = " ".join([label] + [item.title for item in menu]).lower()
        date = re.search(r"\b(20\d{6})", titles)
        return Detection(
            detector=self.name,
            method=method,
            distro="gentoo",
            pretty_name="Gentoo Linux",
            version=date.group(1) if date else None,
            arch=arch_from_name(titles) or "amd64",
            kernel=kernel,
            initrds=(initrd,),
            cmdline=cmdline,
            grub_class="gentoo",
            evidence=("/image.squashfs", str(kernel), str(initrd), f"{method} menu arguments"),
            edition=next((e for e in _EDITIONS if e in titles), None),
            persistence=persistence,
        )
