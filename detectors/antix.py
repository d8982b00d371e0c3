"""antiX and MX Linux, booted by antiX's live initrd.

Fingerprint: /antiX/vmlinuz, /antiX/initrd.gz and the root image /antiX/linuxfs. MX Linux is
told from antiX by its own boot menu titles ("MX-23.4_x64 Libretto (October 2024)" vs
"antiX-23.2_x64-full (10 November 2024)") or volume label ("MX-Live", "antiX-Live"); the
version, edition and architecture come from the same title.

Boot parameters, from antiX/MX Live Boot Parameters (the README of the live initrd,
mx-iso-template initrd/live/README; antiX FAQ "boot-params"): ``buuid=UUID`` names the boot
device by its filesystem UUID (here the stick's data partition) and ``fromiso=PATH`` boots
from the ISO file at PATH on that device.
Persistence: antiX's own ``persist_*`` options (root/home persistence files in /antiX) are
none of sik's persistence kinds, so none.

Not verified against a real ISO (2026-11): the "antiX-Live"/"MX-Live" labels and the menu
title wording come from the reference notes; detection keys on /antiX/ and its files, the
label and titles only tell MX from antiX and give the version.
"""

from __future__ import annotations

import re

from sik.api import BootMethod, Detection, Detector, IsoView, read_menu

_MENUS = ("boot/isolinux/isolinux.cfg", "isolinux/isolinux.cfg", "boot/grub/grub.cfg")
_TITLE = re.compile(r"\b(antiX|MX)-(\d+(?:\.\d+)*)_(x64|386)(?:[-_ ]([A-Za-z]+))?")


class AntiX(Detector, name="antix", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        kernel = iso.first_existing("antiX/vmlinuz")
        initrd = iso.first_existing("antiX/initrd.gz")
        if kernel is None or initrd is None or not iso.exists("antiX/linuxfs"):
            return None
        text = " ".join([iso.volume_id] + [item.title for item in read_menu(iso, *_MENUS)])
        found = _TITLE.search(text)
        mx = (found.group(1) if found else iso.volume_id[:2]) == "MX"
        return Detection(
            detector=self.name,
            method=BootMethod.antix,
            distro="mx" if mx else "antix",
            pretty_name="MX Linux" if mx else "antiX",
            version=found.group(2) if found else None,
            arch={"x64": "x86_64", "386": "i386"}[found.group(3)] if found else None,
            kernel=kernel,
            initrds=(initrd,),
            cmdline=("buuid={data_uuid}", "fromiso={iso}"),
            grub_class="mx" if mx else "antix",
            evidence=("/antiX/linuxfs", str(kernel), str(initrd)) + ((found.group(0),) if found else ()),
            edition=found.group(4) if found and found.group(4) and not mx else None,
        )
