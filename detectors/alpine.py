"""Alpine Linux ISOs (standard, extended, virt), booted as a virtual CD.

Fingerprint: /.alpine-release ("alpine-standard-3.21.0-x86_64" style, or "3.21.0 ..."),
/boot/vmlinuz-<flavour>, /boot/initramfs-<flavour> and /boot/modloop-<flavour>; volume label
"alpine-std 3.21.0 x86_64", "alpine-ext ...", "alpine-virt ...".

Why no ISO-file entry: Alpine's initramfs (mkinitfs' initramfs-init) knows boot media by
device and label (``alpine_dev=``, ``modloop=``, ``apkovl=``, ``alpine_repo=``) but has no
parameter that loop-mounts an ISO file (alpinelinux/mkinitfs: initramfs-init.in, its option
list). It does find a CD on any block device: "Mounting boot media" runs nlplug-findfs, which
mounts every block device it is told of (loop devices too) and looks for .boot_repository
(alpinelinux/mkinitfs nlplug-findfs/nlplug-findfs.c, searchdev and scandev), so sik's
virtual CD, set up before Alpine's /init by sik's wrapper, is found without a patch. Its
initramfs has no dm-mod: for a fragmented copy sik takes dm-mod from the ISO's own
modloop-<flavour> squashfs (modules/<version>/kernel/drivers/md/), as Alpine's /etc/init.d/
modloop mounts it.

Boot parameters: Alpine's own menus (aports scripts/mkimg.base.sh, initfs_cmdline):
``modules=loop,squashfs,sd-mod,usb-storage quiet``, read from the ISO's grub.cfg or
syslinux.cfg when present. Checked against documentation only: no Alpine ISO boots here.

Checked (2026-11): Alpine's labels have the shape "alpine-<flavour> <release> <arch>" (seen in
scripts in the code index that rebuild Alpine ISOs: ``volid="alpine-virt ${release} ${arch}"``,
matching GRUB's ``search --label`` in Alpine's own EFI image). Not verified: the text of
/.alpine-release on every flavour.
"""

from __future__ import annotations

from sik.api import (
    BootMethod,
    Detection,
    Detector,
    IsoView,
    arch_from_name,
    first_version,
    newest,
    read_menu,
)

_MENUS = ("boot/grub/grub.cfg", "boot/syslinux/syslinux.cfg", "boot/extlinux/extlinux.conf")
_DEFAULT_ARGS = ("modules=loop,squashfs,sd-mod,usb-storage", "quiet")
_EDITIONS = {"std": "standard", "standard": "standard", "ext": "extended", "extended": "extended"}


class Alpine(Detector, name="alpine", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        release = iso.read_text(".alpine-release", limit=256)
        if release is None:
            return None
        names = iso.listdir("boot")
        kernel = newest(names, "vmlinuz")
        initrd = newest(names, "initramfs")
        label = iso.volume_id
        flavour = label.split()[0].split("-")[-1] if label.startswith("alpine-") else ""
        own = next((item.args for item in read_menu(iso, *_MENUS) if item.args), ())
        args = tuple(a for a in own if not a.startswith("initrd=")) or _DEFAULT_ARGS
        return Detection(
            detector=self.name,
            method=BootMethod.mkinitfs,
            distro="alpine",
            pretty_name="Alpine Linux",
            version=first_version(release) or first_version(label),
            arch=arch_from_name(label) or arch_from_name(release),
            kernel=iso.first_existing(f"boot/{kernel}") if kernel else None,
            initrds=tuple(p for p in (iso.first_existing(f"boot/{initrd}") if initrd else None,) if p),
            cmdline=args,
            grub_class="alpine",
            evidence=(f"/.alpine-release: {release.strip()}", f"volume label {label!r}"),
            edition=_EDITIONS.get(flavour, flavour or None),
            blocker="Alpine's initramfs has no option to loop-mount an ISO file",
        )
