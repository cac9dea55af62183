"""A local X.509 certificate authority for Content Credentials, signed through artforge's :class:`Signer`.

C2PA signs manifests with a certificate chain.  artforge makes its own: a CA per home, and for each identity a
certificate of that identity's own Ed25519 key (the key that signs its records), issued by the CA.  Such a
manifest is valid wherever the CA is in the reader's trust list, and only there: the home's CA is trusted
by artforge's own ``verify`` and by anyone who is given ``ca.pem``; it is not a public trust anchor.

The CA signs through a :class:`Signer` (any ``Callable[[bytes], bytes]``), not a private key object, so the
certificate is put together here: ``cryptography`` builds and encodes the to-be-signed part (with a
throwaway key), our signer signs those bytes with Ed25519, and the three parts are joined in DER.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from artforge.provenance.keys import Signer

CA_YEARS = 10
IDENTITY_DAYS = 365
_ED25519_ALGORITHM = bytes.fromhex("300506032b6570")  # AlgorithmIdentifier { id-Ed25519 } (RFC 8410)
_NO_USAGE = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _signed_by(builder: x509.CertificateBuilder, issuer: Signer) -> x509.Certificate:
    """The certificate ``builder`` describes, signed by ``issuer`` (Ed25519 over its to-be-signed bytes)."""
    draft = builder.sign(Ed25519PrivateKey.generate(), None)  # only for its to-be-signed encoding
    tbs = draft.tbs_certificate_bytes
    signature = issuer.sign(tbs)
    der = _der(0x30, tbs + _ED25519_ALGORITHM + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "artforge (local)")])


def _public(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def make_ca_certificate(ca: Signer, common_name: str, now: dt.datetime | None = None) -> x509.Certificate:
    """A self-signed CA certificate for the key behind ``ca`` (may only issue end-entity certificates)."""
    now = now or dt.datetime.now(dt.UTC)
    public = _public(ca.public_key)
    builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(_name(common_name))
               .public_key(public).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **_NO_USAGE),
                              critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))
    return _signed_by(builder, ca)


def make_identity_certificate(ca: Signer, ca_certificate: x509.Certificate, identity_public_key: bytes,
                              common_name: str, now: dt.datetime | None = None) -> x509.Certificate:
    """An end-entity certificate for an identity's Ed25519 key, issued by the CA, with the key usage and
    extended key usage the C2PA certificate profile asks of a signer (digital signature; e-mail protection)."""
    now = now or dt.datetime.now(dt.UTC)
    public = _public(identity_public_key)
    builder = (x509.CertificateBuilder().subject_name(_name(common_name)).issuer_name(ca_certificate.subject)
               .public_key(public).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=IDENTITY_DAYS))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **_NO_USAGE),
                              critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(_public(ca.public_key)), critical=False))
    return _signed_by(builder, ca)


def to_pem(*certificates: x509.Certificate) -> str:
    """PEM text of the certificates, in the order given (a chain: end entity first)."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def load_pem(text: str | bytes) -> list[x509.Certificate]:
    """The certificates of a PEM text."""
    return x509.load_pem_x509_certificates(text.encode() if isinstance(text, str) else text)


def usable(certificate: x509.Certificate, issuer: x509.Certificate, public_key: bytes,
           now: dt.datetime | None = None, margin: dt.timedelta = dt.timedelta(days=7)) -> bool:
    """Whether a stored certificate still fits: issued by ``issuer``, for ``public_key``, valid a while longer."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    raw = certificate.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw == public_key and certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc - margin
