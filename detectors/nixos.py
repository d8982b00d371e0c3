"""NixOS installer ISOs (minimal and graphical), booted by NixOS's own stage-1 init.

Fingerprint: /nix-store.squashfs with /boot/bzImage and /boot/initrd; volume label
"nixos-<edition>-<release>-<arch>" (nixos/modules/installer/cd-dvd/iso-image.nix:
isoImage.volumeID), e.g. "nixos-minimal-24.11-x86_64".

Boot parameters: the ISO's own menu (isolinux/isolinux.cfg, EFI/boot/grub.cfg) passes
``init=/nix/store/<hash>-nixos-system-.../init``, a path unique to each build, which is read
from there, and ``root=LABEL=<label>``. NixOS's stage-1 init (nixos/modules/system/boot/
stage-1-init.sh) honours ``findiso=PATH``: it mounts each device until one holds PATH and
uses that ISO as the root device; the ISO's own /boot/grub/loopback.cfg passes it. Without an
``init=`` in its menus the ISO is left to the loopback.cfg fallback.
Persistence: none.

Checked (2026-11): nixpkgs' installer modules (nixos/modules/installer/cd-dvd/iso-image.nix
and its copies in the code index) pass ``root=LABEL=${config.isoImage.volumeID}``, so the
label the detector reads is the one the stage-1 init looks for; derivatives that override it
keep NixOS's shape ``<name>-<edition>-<release>-<processor>`` ("nixos-minimal-24.11-x86_64").
Not verified: nixpkgs' own default volumeID expression (its text was not in the index).
"""

from __future__ import annotations

from sik.api import (
    BootMethod,
    Detection,
    Detector,
    IsoView,
    arch_from_name,
    first_version,
    read_menu,
    udev_label,
)

_MENUS = ("isolinux/isolinux.cfg", "EFI/boot/grub.cfg", "EFI/BOOT/grub.cfg", "boot/grub/grub.cfg")


class NixOS(Detector, name="nixos", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.exists("nix-store.squashfs"):
            return None
        kernel = iso.first_existing("boot/bzImage")
        initrd = iso.first_existing("boot/initrd")
        if kernel is None or initrd is None:
            return None
        init = next(
            (
                a
                for item in read_menu(iso, *_MENUS)
                for a in item.args
                if a.startswith("init=/nix/store/")
            ),
            None,
        )
        if init is None:
            return None
        label = iso.volume_id
        words = label.split("-")
        edition = words[1] if len(words) > 2 and not words[1][:1].isdigit() else None
        return Detection(
            detector=self.name,
            method=BootMethod.nixos,
            distro="nixos",
            pretty_name="NixOS",
            version=first_version(label),
            arch=arch_from_name(label),
            kernel=kernel,
            initrds=(initrd,),
            cmdline=(init, f"root=LABEL={udev_label(label)}", "findiso={iso}"),
            grub_class="nixos",
            evidence=("/nix-store.squashfs", str(kernel), init, f"volume label {label!r}"),
            edition=edition,
        )
