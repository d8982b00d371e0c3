"""Live media booted by dracut's dmsquash-live module: Fedora live up to release 41, the RHEL
family's live images (CentOS, Rocky, AlmaLinux), and Void Linux.

Fingerprint: /LiveOS/squashfs.img with a kernel and initrd under /images/pxeboot (Fedora's
livemedia-creator layout) or /isolinux (older media); Void keeps them in /boot (vmlinuz,
initrd) and labels its ISOs VOID_LIVE. The distribution, version and edition come from the
volume label: "Fedora-WS-Live-41-1-4", "Fedora-KDE-Live-x86_64-40-1-14",
"Rocky-9-5-Workstation-Lite". Fedora 42 and later are built by KIWI
(/boot/x86_64/loader/): another detector's business.

Boot parameters, from dracut.cmdline(7) (Debian 12 dracut-core 059, section "Booting live
images") and the dmsquash-live module's iso-scan hook:
- ``root=live:CDLABEL=<label>`` names the live filesystem by its volume label, spelt as udev
  does under /dev/disk/by-label (``\\x20`` for a space);
- ``rd.live.image`` turns on the live-image root;
- ``iso-scan/filename=PATH`` makes the initramfs mount each partition until one holds PATH,
  loop-mount it, and then find the label on the loop device.
Void adds ``ro init=/sbin/init`` as its own menu does (its root has no /init, and runit is
not systemd), per Void's documentation of its live images.
Persistence: ``rd.live.overlay=<device>[:<path>]`` (dracut.cmdline(7)): key "dracut".

Checked (2026-11): Void's label: void-mklive's mklive.sh (and scripts derived from it in the
code index) builds the ISO with ``xorriso ... -volid "VOID_LIVE"``. Not verified against a
real ISO: Fedora's label spellings beyond those seen in users' notes in the code index
("Fedora-WS-Live-25-1-3" mounted as a CD; "/dev/disk/by-label/Fedora-WS-Live-43 does not
exist", i.e. newer labels drop the respin numbers; both parse to version and edition); the
detector reads whatever label the ISO has for CDLABEL=, so only the title depends on its
shape.
"""

from __future__ import annotations

from sik.api import BootMethod, Detection, Detector, IsoView, arch_from_name, kernel_pair, udev_label

_KERNEL_DIRS = ("images/pxeboot", "isolinux")
# The second word of a Fedora live label names the edition (spins use their own names).
_FEDORA_EDITIONS = {
    "WS": "Workstation",
    "KDE": "KDE Plasma",
    "Xfce": "Xfce",
    "LXQt": "LXQt",
    "LXDE": "LXDE",
    "MATE_C": "MATE-Compiz",
    "Cinnamon": "Cinnamon",
    "SoaS": "Sugar",
    "i3": "i3",
    "Budgie": "Budgie",
    "Sway": "Sway",
}
_NAMES = {"fedora": "Fedora", "rocky": "Rocky Linux", "almalinux": "AlmaLinux", "centos": "CentOS"}


def _cmdline(label: str) -> tuple[str, ...]:
    return (f"root=live:CDLABEL={udev_label(label)}", "rd.live.image", "iso-scan/filename={iso}")


class DracutLive(Detector, name="dracut-live", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        if not iso.exists("LiveOS/squashfs.img"):
            return None
        pair = kernel_pair(iso, _KERNEL_DIRS)
        if pair is None:
            return None
        kernel, initrd = pair
        label = iso.volume_id
        if not label:
            return None
        name, version, edition = _label_facts(label)
        return Detection(
            detector=self.name,
            method=BootMethod.dracut_live,
            distro=name.lower(),
            pretty_name=_NAMES.get(name.lower(), name),
            version=version,
            arch=arch_from_name(label),
            kernel=kernel,
            initrds=(initrd,),
            cmdline=_cmdline(label),
            grub_class=name.lower(),
            evidence=("/LiveOS/squashfs.img", str(kernel), str(initrd), f"volume label {label!r}"),
            edition=f"{edition} Live" if edition else "Live",
            persistence="dracut",
        )


def _label_facts(label: str) -> tuple[str, str | None, str | None]:
    """'Fedora-WS-Live-40-1-14' -> ('Fedora', '40', 'Workstation'): the first word, the first
    number, and a known edition word."""
    parts = label.replace(" ", "-").split("-")
    version = next((p for p in parts if p.isdigit()), None)
    if parts[0].lower() != "fedora" and version is not None:
        # RHEL-family labels spell the minor version as the next word: Rocky-9-5-...
        following = parts[parts.index(version) + 1 :]
        if following and following[0].isdigit():
            version = f"{version}.{following[0]}"
    edition = next((_FEDORA_EDITIONS[p] for p in parts[1:] if p in _FEDORA_EDITIONS), None)
    if edition is None and parts[0].lower() != "fedora":
        edition = next(
            (p for p in parts[1:] if p.isalpha() and p.lower() not in ("live", "x86_64")), None
        )
    return parts[0] or label, version, edition


class VoidLive(Detector, name="void-live", priority=50):
    def probe(self, iso: IsoView) -> Detection | None:
        label = iso.volume_id
        if not label.startswith("VOID") or not iso.exists("LiveOS/squashfs.img"):
            return None
        kernel = iso.first_existing("boot/vmlinuz")
        initrd = iso.first_existing("boot/initrd")
        if kernel is None or initrd is None:
            return None
        return Detection(
            detector=self.name,
            method=BootMethod.dracut_live,
            distro="void",
            pretty_name="Void Linux",
            arch=arch_from_name(iso.read_text("boot/grub/grub.cfg") or "") or "x86_64",
            kernel=kernel,
            initrds=(initrd,),
            cmdline=_cmdline(label) + ("ro", "init=/sbin/init"),
            grub_class="void",
            evidence=(f"volume label {label!r}", "/LiveOS/squashfs.img", str(kernel), str(initrd)),
            edition="Live",
            persistence="dracut",
        )
