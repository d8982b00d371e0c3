"""Installer ISOs of Fedora (Everything and Server netinst/DVD), CentOS Stream, Rocky Linux,
AlmaLinux, RHEL and Oracle Linux, booted by anaconda's dracut initramfs.

Fingerprint: /.treeinfo (productmd's description of an installable tree: [release] name and
version, [general]/[tree] arch and variant) with the installer's stage 2 image
(/images/install.img, or /LiveOS/squashfs.img on older media) and a kernel and initrd under
/images/pxeboot (or /isolinux). The tree file is what live ISOs lack, so this detector is more
specific than dracut-live's.

Boot parameters, from anaconda's boot options documentation (docs/boot-options.rst,
https://anaconda-installer.readthedocs.io/en/latest/boot-options.html):
``inst.repo=hd:<device>:<path>`` "Mount the given disk partition and install from ISO file
on the given path", where the device may be ``UUID=<uuid>`` of the partition; the stage 2
image is then taken from the same ISO (inst.stage2 defaults to inst.repo). So the command line
is ``inst.repo=hd:UUID=<data partition UUID>:<path of the ISO>``; the planner fills in both.
Persistence: none (an installer).

Checked (2026-11): .treeinfo against productmd's format description (github
release-engineering/productmd doc/treeinfo-1.1.rst): an INI file with [release] name, short and
version, and [tree] arch, platforms (a comma-separated list, so only its first item can stand
for the architecture) and variants; [general] is the older layout's section, read as a
fallback. Not verified: the label shapes (Rocky-9-5-x86_64-dvd, Fedora-E-dvd-x86_64-41), from
the reference notes; they decide only the edition shown, never the verdict.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView, kernel_pair, read_treeinfo

_KERNEL_DIRS = ("images/pxeboot", "isolinux")
_CLASSES = {
    "fedora": "fedora",
    "centos stream": "centos",
    "rocky linux": "rocky",
    "almalinux": "almalinux",
    "red hat enterprise linux": "rhel",
    "oracle linux": "oracle",
}
# Volume label words that name the kind of medium: Rocky-9-5-x86_64-dvd, ...-boot, ...-minimal.
_MEDIA = {"dvd": "DVD", "dvd1": "DVD", "boot": "boot", "minimal": "minimal", "netinst": "netinst"}


class Anaconda(Detector, name="anaconda", priority=55):
    def probe(self, iso: IsoView) -> Detection | None:
        tree = read_treeinfo(iso)
        if not tree or not iso.first_existing("images/install.img", "LiveOS/squashfs.img"):
            return None
        pair = kernel_pair(iso, _KERNEL_DIRS)
        if pair is None:
            return None
        kernel, initrd = pair
        release = tree.get("release", {})
        general = tree.get("general", {}) | tree.get("tree", {})
        name = release.get("name") or general.get("family") or "Anaconda installer"
        variant = general.get("variant") or general.get("variants", "").split(",")[0]
        words = iso.volume_id.lower().replace("_", "-").split("-")
        # Fedora labels say "dvd" on netinst images too; its variant says enough.
        medium = None if name == "Fedora" else next((_MEDIA[w] for w in words if w in _MEDIA), None)
        edition = " ".join(e for e in (_variant(variant), medium) if e) or None
        return Detection(
            detector=self.name,
            method=BootMethod.anaconda,
            distro=_CLASSES.get(name.lower(), name.split()[0].lower()),
            pretty_name=name,
            version=release.get("version") or general.get("version"),
            arch=general.get("arch") or general.get("platforms", "").split(",")[0].strip() or None,
            kernel=kernel,
            initrds=(initrd,),
            cmdline=("inst.repo=hd:UUID={data_uuid}:{iso}",),
            grub_class=_CLASSES.get(name.lower(), "linux"),
            evidence=("/.treeinfo", str(kernel), str(initrd), f"volume label {iso.volume_id!r}"),
            edition=edition,
        )


def _variant(variant: str | None) -> str | None:
    # RHEL-family DVDs name their first repository (BaseOS), which says nothing to a user.
    return None if not variant or variant in ("BaseOS", "AppStream") else variant
