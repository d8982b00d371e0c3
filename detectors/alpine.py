"""Alpine Linux ISOs (standard, extended, virt): recognised, but given no entry.

Fingerprint: /.alpine-release ("alpine-standard-3.21.0-x86_64" style, or "3.21.0 ..."),
/boot/vmlinuz-<flavour>, /boot/initramfs-<flavour> and /boot/modloop-<flavour>; volume label
"alpine-std 3.21.0 x86_64", "alpine-ext ...", "alpine-virt ...".

Why no entry: Alpine's initramfs (mkinitfs' initramfs-init) knows boot media by device and
label (``alpine_dev=``, ``modloop=``, ``apkovl=``, ``alpine_repo=``) but has no parameter
that loop-mounts an ISO file (alpinelinux/mkinitfs: initramfs-init.in, its option list).

Checked (2026-11): Alpine's labels have the shape "alpine-<flavour> <release> <arch>" (seen in
scripts in the code index that rebuild Alpine ISOs: ``volid="alpine-virt ${release} ${arch}"``,
matching GRUB's ``search --label`` in Alpine's own EFI image). Not verified: the text of
/.alpine-release on every flavour.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView, arch_from_name, first_version, newest

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
        return Detection(
            detector=self.name,
            method=BootMethod.mkinitfs,
            distro="alpine",
            pretty_name="Alpine Linux",
            version=first_version(release) or first_version(label),
            arch=arch_from_name(label) or arch_from_name(release),
            kernel=iso.first_existing(f"boot/{kernel}") if kernel else None,
            initrds=tuple(p for p in (iso.first_existing(f"boot/{initrd}") if initrd else None,) if p),
            grub_class="alpine",
            evidence=(f"/.alpine-release: {release.strip()}", f"volume label {label!r}"),
            edition=_EDITIONS.get(flavour, flavour or None),
            blocker=(
                "Alpine's initramfs has no option to loop-mount an ISO file: it cannot boot "
                "from an ISO file (a later sik release will add a helper initrd)"
            ),
        )
