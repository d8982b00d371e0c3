"""The user's own Secure Boot key: made once per user, kept on the user's computer (never on a
stick, never shared), used to sign sik's GRUB so that shim accepts it once the key is enrolled
as a MOK.

The key lives in the invoking user's ~/.config/sik/secureboot/ (``$XDG_CONFIG_HOME`` when set;
under sudo, the home of the user who ran sudo, and the files belong to that user), readable by
that user only.
"""

from __future__ import annotations

import datetime
import getpass
import os
import platform
import pwd
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sik.core.errors import SecureBootError
from sik.core.run import find_tool, run
from sik.detection.authenticode import common_name, load_certificate, signatures
from sik.detection.pe import parse_pe, reader_of

KEY_NAME = "sik-mok"
# Shim and MokManager handle RSA-2048 everywhere; larger keys trip some firmware.
_KEY_BITS = 2048
_VALID_YEARS = 30  # shim does not check validity dates; a long life saves re-enrolling


@dataclass(frozen=True)
class UserKey:
    key: Path  # PEM private key, 0600
    cert: Path  # PEM certificate (sbsign's --cert)
    der: Path  # the same certificate in DER, what MokManager and mokutil enrol

    def certificate(self) -> x509.Certificate:
        cert = load_certificate(self.cert.read_bytes())
        if cert is None:
            raise SecureBootError(
                f"{self.cert} is not a certificate", hint=f"remove {self.cert.parent} to start over"
            )
        return cert

    @property
    def name(self) -> str:
        return common_name(self.certificate().subject)


def _invoking_user() -> pwd.struct_passwd | None:
    """The user who ran sudo, when sik runs under sudo as root."""
    name = os.environ.get("SUDO_USER")
    if os.geteuid() != 0 or not name or name == "root":
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def key_dir() -> Path:
    user = _invoking_user()
    if user is not None:
        return Path(user.pw_dir) / ".config" / "sik" / "secureboot"
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config) / "sik" / "secureboot"


def _paths(directory: Path) -> UserKey:
    return UserKey(
        directory / f"{KEY_NAME}.key", directory / f"{KEY_NAME}.crt", directory / f"{KEY_NAME}.cer"
    )


def load_user_key(directory: Path | None = None) -> UserKey | None:
    """The user's key, or None when it was never made."""
    found = _paths(directory or key_dir())
    if not found.key.is_file() or not found.cert.is_file():
        return None
    if not found.der.is_file():
        found.der.write_bytes(found.certificate().public_bytes(serialization.Encoding.DER))
    return found


def create_user_key(directory: Path | None = None) -> UserKey:
    """Make the user's key and certificate, readable by the user only."""
    directory = directory or key_dir()
    made = _paths(directory)
    owner = _invoking_user()
    _make_private_dir(directory, owner)
    private = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    cert = _certificate(private, f"sik Secure Boot key of {_user_label(owner)}")
    pem_key = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(made.key, pem_key, owner)
    _write_private(made.cert, cert.public_bytes(serialization.Encoding.PEM), owner)
    _write_private(made.der, cert.public_bytes(serialization.Encoding.DER), owner)
    return made


def _user_label(owner: pwd.struct_passwd | None) -> str:
    name = owner.pw_name if owner else getpass.getuser()
    return f"{name}@{platform.node() or 'localhost'}"


def _certificate(private: rsa.RSAPrivateKey, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    public = private.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * _VALID_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(private, hashes.SHA256())
    )


def _make_private_dir(directory: Path, owner: pwd.struct_passwd | None) -> None:
    # Every folder made here belongs to the invoking user, not to root.
    missing = [p for p in (directory, *directory.parents) if not p.exists()]
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    if owner is not None:
        for path in missing:
            os.chown(path, owner.pw_uid, owner.pw_gid)


def _write_private(path: Path, data: bytes, owner: pwd.struct_passwd | None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        if owner is not None:
            os.fchown(fd, owner.pw_uid, owner.pw_gid)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def sign_efi(image: bytes, key: UserKey) -> bytes:
    """``image`` with an Authenticode signature by ``key`` (sbsign), replacing any it had."""
    sbsign = find_tool(
        "sbsign",
        reason="sign sik's GRUB with your key",
        hint="install sbsigntool (sbsigntools on Fedora, Arch)",
    )
    with tempfile.TemporaryDirectory(prefix="sik-sign-") as tmp:
        source, signed = Path(tmp, "unsigned.efi"), Path(tmp, "signed.efi")
        source.write_bytes(image)
        run([sbsign, "--key", key.key, "--cert", key.cert, "--output", signed, source], capture=True)
        return signed.read_bytes()


def signer_names(image: bytes) -> tuple[str, ...]:
    """Who signed an EFI program (common names), () when no one did."""
    read = reader_of(image)
    pe = parse_pe(read)
    return tuple(common_name(s.signer.subject) for s in signatures(read, pe)) if pe else ()


def signed_with(image: bytes, key: UserKey) -> bool:
    read = reader_of(image)
    pe = parse_pe(read)
    mine = key.certificate()
    return pe is not None and any(s.signer == mine for s in signatures(read, pe))
