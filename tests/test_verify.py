"""`sik verify`: a flipped bit is reported by file and byte range; distribution checksum files
in both formats; OpenPGP signatures made by a real gpg with a throwaway key."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sik.cli import app
from sik.core.run import run
from sik.core.stick import Stick
from sik.files.manifest import CHUNK_SIZE, hash_file, record
from sik.files.verify import VerifyError, parse_sums, verify_signature

MIB = 2**20


def _verify(stick: Stick, *args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", "--stick", str(stick.root), *map(str, args)])
    message = getattr(result.exception, "message", "") if result.exception else ""
    # Joined, so a line rich folded at the terminal width reads whole again.
    return result.exit_code, " ".join((result.output + " " + message).split())


@pytest.fixture
def recorded(stick: Stick) -> Stick:
    for name, size in (("big.iso", 10 * MIB), ("small.iso", 3000)):
        path = stick.iso_dir / name
        path.write_bytes(os.urandom(size))
        record(stick, {path: hash_file(path)})
    return stick


def test_intact_stick_verifies(recorded: Stick) -> None:
    code, out = _verify(recorded)
    assert code == 0 and "✓ 2 file(s) intact" in out and "ok: boot/iso/big.iso" in out


def test_a_flipped_bit_is_reported_by_file_and_byte_range(recorded: Stick) -> None:
    offset = CHUNK_SIZE + 12345
    with (recorded.iso_dir / "big.iso").open("r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ 0x10]))
    code, out = _verify(recorded)
    assert code == 1 and "1 problem(s) found" in out
    assert f"modified: boot/iso/big.iso: bytes {CHUNK_SIZE}-{2 * CHUNK_SIZE - 1} differ" in out
    assert "ok: boot/iso/small.iso" in out


def test_truncated_missing_and_unrecorded_files(recorded: Stick) -> None:
    os.truncate(recorded.iso_dir / "big.iso", 9 * MIB)
    (recorded.iso_dir / "small.iso").unlink()
    (recorded.iso_dir / "new.iso").write_bytes(b"x")
    (recorded.iso_dir / ".new2.iso.partial").write_bytes(b"half")  # a copy in progress: ignored
    code, out = _verify(recorded)
    assert code == 1 and "3 problem(s) found" in out
    # The chunk the file now ends in differs too: reported at chunk granularity.
    assert f"modified: boot/iso/big.iso: bytes {2 * CHUNK_SIZE}-{10 * MIB - 1} differ" in out
    assert "missing: boot/iso/small.iso" in out and "unrecorded: boot/iso/new.iso" in out
    assert "partial" not in out


def test_record_adds_unrecorded_files(recorded: Stick) -> None:
    (recorded.iso_dir / "new.iso").write_bytes(b"x")
    ext = recorded.root / "boot" / "extensions" / "wifi.ExtensionImage"
    ext.write_bytes(b"hsqs")
    code, out = _verify(recorded, "--record")
    assert code == 0 and "recorded 2 file(s)" in out
    assert _verify(recorded) == (0, _verify(recorded)[1]) and "4 file(s) intact" in _verify(recorded)[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sums_files_in_gnu_and_bsd_format(recorded: Stick, tmp_path: Path) -> None:
    big, small = _sha(recorded.iso_dir / "big.iso"), _sha(recorded.iso_dir / "small.iso")
    gnu = tmp_path / "SHA256SUMS"
    gnu.write_text(f"{big}  big.iso\n{small} *./small.iso\n{'0' * 64}  other-edition.iso\n")
    bsd = tmp_path / "CHECKSUM"
    bsd.write_text(
        f"# Fedora-style\nSHA256 (big.iso) = {big.upper()}\nSHA256 (small.iso) = {'1' * 64}\n"
    )
    assert parse_sums(gnu.read_text()) == {
        "big.iso": big,
        "small.iso": small,
        "other-edition.iso": "0" * 64,
    }
    code, out = _verify(recorded, "--against", gnu)
    assert code == 0 and "ok: boot/iso/big.iso: matches the checksum file" in out
    code, out = _verify(recorded, "--against", bsd)
    assert (
        code == 1
        and f"checksum mismatch: boot/iso/small.iso: SHA-256 {small}, expected {'1' * 64}" in out
    )
    with pytest.raises(VerifyError, match="lists no SHA-256 sums"):
        parse_sums("md5  x.iso\n")
    unrelated = tmp_path / "OTHER"
    unrelated.write_text(f"{big}  debian.iso\n")
    assert (
        "no ISO on the stick is named in the checksum file"
        in _verify(recorded, "--against", unrelated)[1]
    )


def _gpg(home: Path, *args: str | Path) -> None:
    home.mkdir(mode=0o700, exist_ok=True)
    quiet = ["--batch", "--quiet", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""]
    run(["gpg", *quiet, *args], env={"GNUPGHOME": str(home)}, capture=True)


def _throwaway_key(home: Path, name: str) -> Path:
    _gpg(home, "--quick-gen-key", f"{name} <{name}@example.org>", "ed25519", "sign", "never")
    keyring = home.parent / f"{name}.gpg"
    _gpg(home, "--output", keyring, "--export")
    return keyring


def test_signed_sums_file_verified_with_a_real_gpg_signature(recorded: Stick, tmp_path: Path) -> None:
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{_sha(recorded.iso_dir / 'big.iso')}  big.iso\n")
    signer = tmp_path / "signer"
    keyring = _throwaway_key(signer, "release")
    _gpg(signer, "--detach-sign", "--output", tmp_path / "SHA256SUMS.gpg", sums)
    stranger = _throwaway_key(tmp_path / "stranger", "stranger")

    code, out = _verify(
        recorded, "--against", sums, "--signature", tmp_path / "SHA256SUMS.gpg", "--keyring", keyring
    )
    assert code == 0 and "SHA256SUMS: good signature by " in out
    with pytest.raises(VerifyError, match="does not verify with stranger.gpg"):
        verify_signature(sums.read_bytes(), tmp_path / "SHA256SUMS.gpg", stranger)
    sums.write_text(sums.read_text().replace("big.iso", "big.iso\n" + "0" * 64 + "  small.iso"))
    code, out = _verify(
        recorded, "--against", sums, "--signature", tmp_path / "SHA256SUMS.gpg", "--keyring", keyring
    )
    assert code == 1 and "the signature SHA256SUMS.gpg does not verify with release.gpg" in out
    with pytest.raises(VerifyError, match="no OpenPGP keys can be read"):
        verify_signature(b"", tmp_path / "SHA256SUMS.gpg", sums)
