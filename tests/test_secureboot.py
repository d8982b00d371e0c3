"""Secure Boot without booting: signatures read from real Debian binaries and fixture ISOs, the
ESP's stub config, sik's GRUB image and its SBAT, the user's key, the menu's marks."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from sik.core.codec import decode, encode
from sik.core.model import BootEntry, BootMethod, FsType, Plan, SecureBoot, SecureBootFacts
from sik.detection.authenticode import chains_to, common_name, signatures, vendor_certificates
from sik.detection.detect import detect
from sik.detection.fat import fat_file
from sik.detection.iso import open_iso
from sik.detection.pe import parse_pe, reader_of
from sik.detection.plugins import load_detectors
from sik.detection.signatures import iso_shim_certificates, secure_boot_facts
from sik.drive import bootloader, esp, sbflows
from sik.drive.bootloader import build_images
from sik.drive.install import install, update
from sik.drive.sbkeys import create_user_key, load_user_key, sign_efi, signed_with, signer_names
from sik.drive.secureboot import (
    SHIM_PATH,
    find_signed_chain,
    grub_prefix,
    is_revoked,
    program_facts,
    sbat_level,
    shim_refresh_note,
    stub_config,
)
from sik.menu.render import render_grub_cfg
from tests.fixtures import sbisos
from tests.fixtures.liveisos import FixtureIsos, build_fixture_isos

SHIM = Path("/usr/lib/shim/shimx64.efi.signed")
SIGNED_GRUB = Path("/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed")
MOKMANAGER = Path("/usr/lib/shim/mmx64.efi.signed")
DEBIAN_CA = "Debian Secure Boot CA"


@pytest.fixture(scope="module")
def isos() -> FixtureIsos:
    return build_fixture_isos()


def _kernel(isos: FixtureIsos) -> Path:
    return next((isos.live_boot.parent / "boot").glob("vmlinuz-*"))


def _debian_ca() -> list[object]:
    data = SHIM.read_bytes()
    pe = parse_pe(reader_of(data))
    assert pe is not None
    return list(vendor_certificates(reader_of(data), pe))


def test_debian_kernel_is_signed_by_debian_and_chains_to_the_shim_vendor_cert(isos: FixtureIsos) -> None:
    data = _kernel(isos).read_bytes()
    read = reader_of(data)
    pe = parse_pe(read)
    assert pe is not None and pe.cert_size > 0
    found = signatures(read, pe)
    assert [common_name(s.signer.subject) for s in found] == ["Debian Secure Boot Signer 2022 - linux"]
    trusted = _debian_ca()
    assert [common_name(c.subject) for c in trusted] == [DEBIAN_CA]  # type: ignore[attr-defined]
    anchor = chains_to(found[0], trusted)  # type: ignore[arg-type]
    assert anchor is not None and common_name(anchor.subject) == DEBIAN_CA


def test_a_foreign_ca_does_not_vouch_for_debian(isos: FixtureIsos, tmp_path: Path) -> None:
    ca, _ = sbisos.make_test_ca(tmp_path)
    read = reader_of(_kernel(isos).read_bytes())
    pe = parse_pe(read)
    assert pe is not None
    assert chains_to(signatures(read, pe)[0], [ca.certificate()]) is None


def test_shim_and_grub_facts() -> None:
    shim = program_facts(SHIM_PATH, SHIM.read_bytes())
    assert shim.version and shim.sbat and shim.sbat["shim"] >= 4
    assert "Microsoft Corporation UEFI CA 2011" not in shim.signers  # the signer, not the CA
    assert any("Microsoft" in s for s in shim.signers)
    level = sbat_level(SHIM.read_bytes())
    assert level["shim"] >= 4 and level["grub"] >= 5
    assert grub_prefix(SIGNED_GRUB.read_bytes()) == PurePosixPath("/EFI/debian")
    assert not is_revoked(program_facts(SHIM_PATH, SIGNED_GRUB.read_bytes()), level)
    old = program_facts(SHIM_PATH, SIGNED_GRUB.read_bytes())
    assert is_revoked(old, {"grub": 99})


def test_sik_grub_carries_current_sbat_and_every_module(tmp_path: Path) -> None:
    images = build_images(FsType.exfat, "ABCD-1234", SIGNED_GRUB.read_bytes())
    facts = program_facts(PurePosixPath("/EFI/sik/grubx64.efi"), images.efi)
    assert facts.sbat is not None and facts.sbat["sik"] == 1
    assert not is_revoked(facts, sbat_level(SHIM.read_bytes()))
    assert facts.signers == ()
    # Built in, since lockdown refuses insmod: exFAT, and what sik's menu loads.
    for module in (b"exfat", b"hashsum", b"regexp", b"loopback", b"iso9660"):
        assert module + b"\0" in images.efi


def test_signed_chain_is_found_here() -> None:
    chain = find_signed_chain()
    assert chain is not None, "install shim-signed grub-efi-amd64-signed shim-helpers-amd64-signed"
    assert chain.stub_path() == PurePosixPath("/EFI/debian/grub.cfg")


@pytest.mark.parametrize("fs", [FsType.ext4, FsType.exfat])
def test_stub_config_parses_and_finds_the_data_partition_by_uuid(fs: FsType, tmp_path: Path) -> None:
    text = stub_config("1234-ABCD", fs)
    cfg = tmp_path / "grub.cfg"
    cfg.write_text(text)
    checker = shutil.which("grub-script-check")
    assert checker
    subprocess.run([checker, cfg], check=True)
    searches = "search --no-floppy --fs-uuid --set=root 1234-ABCD" in text
    assert searches is (fs is not FsType.exfat)
    assert "search --file" not in text and "--disable-shim-lock" not in text
    assert 'if chainloader "${sik_esp}/EFI/sik/grubx64.efi"; then boot; fi' in text


@pytest.mark.parametrize("size_kib", [4096, 65536])
def test_fat_reader_reads_a_file_across_clusters(size_kib: int, tmp_path: Path) -> None:
    payload = tmp_path / "payload"
    payload.write_bytes(bytes(range(256)) * 2000)  # 512000 bytes, many clusters
    image = tmp_path / "efi.img"
    subprocess.run(["mkfs.fat", "-C", image, str(size_kib)], check=True, capture_output=True)
    env = {"MTOOLS_SKIP_CHECK": "1", "PATH": "/usr/bin:/bin"}
    for folder in ("::/EFI", "::/EFI/BOOT"):
        subprocess.run(["mmd", "-i", image, folder], check=True, env=env)
    subprocess.run(["mcopy", "-i", image, payload, "::/EFI/BOOT/bootx64.efi"], check=True, env=env)
    data = image.read_bytes()
    read = fat_file(reader_of(data), "EFI/BOOT/BOOTX64.EFI")
    assert read is not None
    assert read(0, 10**6) == payload.read_bytes()
    assert read(300_000, 5) == payload.read_bytes()[300_000:300_005]
    assert fat_file(reader_of(data), "EFI/BOOT/MISSING.EFI") is None
    assert fat_file(reader_of(b"not fat" * 100), "EFI/BOOT/BOOTX64.EFI") is None


def test_verdicts_from_the_isos_themselves(isos: FixtureIsos, tmp_path: Path) -> None:
    ca, signer = sbisos.make_test_ca(tmp_path / "ca")
    kernel = _kernel(isos)
    shim = sbisos.shim_trusting(ca.der.read_bytes(), tmp_path / "shim.efi")
    efi_img = sbisos.efi_image({"EFI/BOOT/BOOTX64.EFI": shim}, tmp_path / "efi.img")
    testca = sbisos.rebuild_iso(
        isos.dracut_live,
        tmp_path / "testca.iso",
        {"images/pxeboot/vmlinuz": sbisos.resigned_copy(kernel, tmp_path / "k-ca", signer)},
        efi_img,
    )
    unsigned = sbisos.rebuild_iso(
        isos.live_boot,
        tmp_path / "unsigned.iso",
        {f"live/{kernel.name}": sbisos.unsigned_copy(kernel, tmp_path / "k-none")},
    )
    trusted = _debian_ca()
    detectors = load_detectors((), ())
    expected = {
        isos.live_boot: (SecureBoot.trusted, "Debian Secure Boot Signer 2022 - linux", DEBIAN_CA),
        testca: (SecureBoot.enrol, sbisos.TEST_SIGNER_NAME, sbisos.TEST_CA_NAME),
        unsigned: (SecureBoot.unsigned, None, None),
        isos.memtest: (SecureBoot.unsigned, None, None),
        isos.ipxe: (SecureBoot.unsigned, None, None),
        isos.loopback: (SecureBoot.unknown, None, None),
    }
    for path, (verdict, signer_name, authority) in expected.items():
        with open_iso(path) as iso:
            detection = detect(iso, detectors).outcome
            assert not isinstance(detection, str)
            facts = secure_boot_facts(iso, detection, trusted)  # type: ignore[arg-type]
        assert (facts.verdict, facts.signer, facts.authority) == (verdict, signer_name, authority), path
        assert decode(SecureBootFacts, encode(facts)) == facts  # what the scan cache keeps
    with open_iso(testca) as iso:
        assert iso.efi_boot_image() is not None
        assert [common_name(c.subject) for c in iso_shim_certificates(iso)] == [sbisos.TEST_CA_NAME]


def test_user_key_is_private_and_signs(tmp_path: Path) -> None:
    directory = tmp_path / "config" / "sik" / "secureboot"
    assert load_user_key(directory) is None
    key = create_user_key(directory)
    assert (directory.stat().st_mode & 0o777) == 0o700
    for path in (key.key, key.cert, key.der):
        assert (path.stat().st_mode & 0o777) == 0o600
    assert load_user_key(directory) == key
    images = build_images(FsType.ext4, "1234-ABCD", SIGNED_GRUB.read_bytes())
    signed = sign_efi(images.efi, key)
    assert signed_with(signed, key) and not signed_with(images.efi, key)
    assert signer_names(signed) == (key.name,)
    other = create_user_key(tmp_path / "other")
    assert not signed_with(signed, other)


def test_menu_marks_and_guards_entries_that_will_not_verify(tmp_path: Path) -> None:
    def entry(name: str, verdict: SecureBoot) -> BootEntry:
        facts = SecureBootFacts(verdict, PurePosixPath("/live/vmlinuz"), "S", "Some CA", "ab")
        return BootEntry(
            id=name, title=name, iso=PurePosixPath(f"/boot/iso/{name}.iso"), method=BootMethod.live_boot,
            kernel=PurePosixPath("/live/vmlinuz"), efi_kernel=None, initrds=(), cmdline=("boot=live",),
            secure_boot=facts,
        )  # fmt: skip

    entries = (
        entry("ok", SecureBoot.trusted),
        entry("ca", SecureBoot.enrol),
        entry("no", SecureBoot.unsigned),
    )
    text = render_grub_cfg(Plan(items=entries))
    cfg = tmp_path / "grub.cfg"
    cfg.write_text(text)
    subprocess.run([str(shutil.which("grub-script-check")), cfg], check=True)
    assert "menuentry ok --class" in text
    assert "menuentry 'ca [needs enrolled CA]'" in text and "  if linux (loop)/live/vmlinuz" in text
    assert "menuentry 'no [not signed]'" in text and 'if [ "$shim_lock" = y ]; then' in text
    assert "this kernel is not signed: turn Secure Boot off" in text
    assert text.count("set timeout=-1") == 2  # the menu waits after a refusal


def test_update_says_when_the_old_shim_was_revoked(tmp_path: Path) -> None:
    chain = find_signed_chain()
    assert chain is not None
    assert shim_refresh_note(chain.shim.read_bytes(), chain) is None  # the same shim: nothing to say
    # An older shim, as SBAT sees it: Debian's unsigned shim claiming generation 1.
    sbat = tmp_path / "sbat.csv"
    sbat.write_text("sbat,1,SBAT Version,sbat,1,x\nshim,1,UEFI shim,shim,1,x\n")
    old = tmp_path / "old-shim.efi"
    subprocess.run(
        ["objcopy", "--update-section", f".sbat={sbat}", sbisos.UNSIGNED_SHIM, old], check=True
    )
    note = shim_refresh_note(old.read_bytes(), chain)
    assert note is not None and "revoked" in note and "shim" in note


@pytest.mark.root
def test_without_signed_boot_loaders_sik_grub_is_bootx64(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A computer without shim-signed & co. (Arch): the stick starts with Secure Boot off only,
    and install says so."""
    monkeypatch.setattr(bootloader, "find_signed_chain", lambda: None)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    warnings: list[str] = []
    image = tmp_path / "sik.img"
    layout = install(image, fs=FsType.ext4, size=200 * 2**20, warn=warnings.append)
    bootx64 = esp.read_file(layout, SHIM_PATH)
    assert bootx64 is not None and sbat_level(bootx64) == {}  # not a shim: sik's GRUB
    assert bootx64 == esp.read_file(layout, PurePosixPath("/EFI/sik/grubx64.efi"))
    assert any("Secure Boot off only" in w for w in warnings)


@pytest.mark.root
def test_update_keeps_a_grub_signed_with_a_key_this_computer_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "owner"))
    image = tmp_path / "sik.img"
    layout = install(image, fs=FsType.exfat, size=200 * 2**20)
    with sbflows.opened_target(image) as (opened_layout, stick):
        done = sbflows.enroll(opened_layout, stick, use_mokutil=False)
    assert [name for name, _ in done.certificates] == [f"sik-{sbflows._slug(done.key.name)}.cer"]
    signed = esp.read_file(layout, PurePosixPath("/EFI/sik/grubx64.efi"))
    assert signed is not None and signed_with(signed, done.key)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "someone-else"))
    warnings: list[str] = []
    update(image, warn=warnings.append)
    assert esp.read_file(layout, PurePosixPath("/EFI/sik/grubx64.efi")) == signed
    assert any("not refreshed" in w for w in warnings)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "owner"))
    update(image)  # the owner's computer: refreshed and signed again
    assert signed_with(esp.read_file(layout, PurePosixPath("/EFI/sik/grubx64.efi")) or b"", done.key)
