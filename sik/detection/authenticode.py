"""Who signed an EFI program, and whether a given certificate authority vouches for it.

An Authenticode signature is a PKCS#7 SignedData in the PE certificate table: WIN_CERTIFICATE
entries (u32 length, u16 revision, u16 type 2 = PKCS_SIGNED_DATA, then the DER), each padded to
8 bytes (Microsoft's "Windows Authenticode Portable Executable Signature Format"). Shim accepts
a program when one of those signatures chains, through the certificates it carries, to a
certificate shim trusts: its built-in vendor certificate, a MOK, or one in the firmware's db.
That chain is what sik checks here, with each link's signature verified; the digest of the
program itself is not (that would read whole kernels), so a program altered after signing
still counts as signed by its signer: the firmware, not sik, has the last word.

Shim's own trusted certificate lives in its .vendor_cert section: a 16-byte header (u32 sizes
and offsets of the authorised and revoked lists, offsets from the section's start), then a DER
certificate, or an EFI_SIGNATURE_LIST database in shims built with a vendor db (UEFI 2.10,
32.4.1: a 16-byte type GUID, u32 list, header and signature sizes, then entries of a 16-byte
owner GUID and the data).
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from sik.detection.pe import PeImage, Reader, section_data

_WIN_CERT_PKCS_SIGNED_DATA = 2
_MAX_CERT_TABLE = 256 * 1024  # real ones are 1-12 KiB
_MAX_CHAIN = 6
_EFI_CERT_X509 = uuid.UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072").bytes_le


@dataclass(frozen=True)
class Signature:
    """One Authenticode signature: the certificate that signed, and the others it carries."""

    signer: x509.Certificate
    carried: tuple[x509.Certificate, ...]


def certificate_table(read: Reader, image: PeImage) -> list[bytes]:
    """The PKCS#7 blobs of a program's certificate table (empty when it is not signed)."""
    if not image.cert_offset or not image.cert_size or image.cert_size > _MAX_CERT_TABLE:
        return []
    table = read(image.cert_offset, image.cert_size)
    blobs, pos = [], 0
    while pos + 8 <= len(table):
        length, _revision, kind = struct.unpack_from("<IHH", table, pos)
        if length < 8 or pos + length > len(table):
            break
        if kind == _WIN_CERT_PKCS_SIGNED_DATA:
            blobs.append(table[pos + 8 : pos + length])
        pos += (length + 7) & ~7
    return blobs


def signatures(read: Reader, image: PeImage) -> list[Signature]:
    """Every readable signature of a program, its signing certificate first in each."""
    found = []
    for blob in certificate_table(read, image):
        signature = _parse_signature(blob)
        if signature is not None:
            found.append(signature)
    return found


def _parse_signature(blob: bytes) -> Signature | None:
    try:
        # The entry may be padded past the DER element: keep the element only.
        blob = blob[: _tlv(blob, 0)[2]]
        carried = tuple(pkcs7.load_der_pkcs7_certificates(blob))
    except (ValueError, UnsupportedAlgorithm):
        return None
    issuer_serial = _signer_id(blob)
    if issuer_serial is None:
        return None
    issuer, serial = issuer_serial
    for cert in carried:
        if cert.serial_number == serial and cert.issuer.public_bytes() == issuer:
            return Signature(cert, carried)
    return None


def chains_to(signature: Signature, anchors: list[x509.Certificate]) -> x509.Certificate | None:
    """The anchor the signature chains to (the signer is an anchor, or issued by one, directly
    or through certificates the signature carries), each link's signature checked."""
    current = signature.signer
    for _ in range(_MAX_CHAIN):
        for anchor in anchors:
            if current == anchor or issued_by(current, anchor):
                return anchor
        parent = next((c for c in signature.carried if c != current and issued_by(current, c)), None)
        if parent is None:
            return None
        current = parent
    return None


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def common_name(name: x509.Name) -> str:
    """A certificate name as people call it: its CN, else its organisation, else the whole DN."""
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        values = name.get_attributes_for_oid(oid)
        if values:
            return str(values[0].value)
    return name.rfc4514_string() or "(no name)"


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def vendor_certificates(read: Reader, image: PeImage) -> list[x509.Certificate]:
    """The certificates a shim trusts by itself (its .vendor_cert section); [] for a program
    that is not a shim."""
    data = section_data(read, image, ".vendor_cert", limit=256 * 1024)
    if not data or len(data) < 16:
        return []
    auth_size, _deauth_size, auth_offset, _deauth_offset = struct.unpack_from("<IIII", data, 0)
    authorised = data[auth_offset : auth_offset + auth_size]
    if authorised[:1] == b"\x30":
        return _load_der([authorised])
    return _load_der(_signature_list_x509(authorised))


def load_certificate(data: bytes) -> x509.Certificate | None:
    """A certificate from DER or PEM bytes, or None."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        return None


def _load_der(blobs: list[bytes]) -> list[x509.Certificate]:
    return [cert for blob in blobs if (cert := load_certificate(blob)) is not None]


def _signature_list_x509(data: bytes) -> list[bytes]:
    found, pos = [], 0
    while pos + 28 <= len(data):
        kind = data[pos : pos + 16]
        list_size, header_size, entry_size = struct.unpack_from("<III", data, pos + 16)
        if list_size < 28 or pos + list_size > len(data) or entry_size <= 16:
            break
        entry = pos + 28 + header_size
        while kind == _EFI_CERT_X509 and entry + entry_size <= pos + list_size:
            found.append(data[entry + 16 : entry + entry_size])
            entry += entry_size
        pos += list_size
    return found


# --- the signer's identity, from SignerInfo (RFC 2315, 9.2) -------------------------------------


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag, first = data[pos], data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("DER element runs past its parent")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, value start, value end) of each element in data[start:end]."""
    items, pos = [], start
    while pos < end:
        tag, value, stop = _tlv(data, pos)
        items.append((tag, pos, value, stop))
        pos = stop
    return items


def _signer_id(blob: bytes) -> tuple[bytes, int] | None:
    """The first SignerInfo's issuer (DER of the Name) and serial number."""
    try:
        _, start, end = _tlv(blob, 0)  # ContentInfo
        content = [c for c in _children(blob, start, end) if c[0] == 0xA0]
        if not content:
            return None
        _, _, inner, inner_end = content[0]
        _, signed_start, signed_end = _tlv(blob, inner)  # SignedData
        signer_infos = [c for c in _children(blob, signed_start, signed_end) if c[0] == 0x31][-1]
        first = _children(blob, signer_infos[2], signer_infos[3])[0]  # SignerInfo
        fields = _children(blob, first[2], first[3])
        issuer_and_serial = fields[1]
        name, serial = _children(blob, issuer_and_serial[2], issuer_and_serial[3])[:2]
        return blob[name[1] : name[3]], int.from_bytes(blob[serial[2] : serial[3]], "big", signed=True)
    except (ValueError, IndexError):
        return None
