"""Sealing a private work's details: AES-GCM under a data key per work, the key wrapped for chosen Ed25519 keys.

A private work's title, licence and matcher thumbnail are stored sealed (``docs/private-works.md``).  Each
sealed part is ``SEAL_MAGIC || nonce || AES-256-GCM ciphertext`` under a fresh 32-byte data key, with the
part's context (the work's pixel hash and the part's name) as associated data, so a sealed part cannot be
passed off as another work's or another part.  The data key is wrapped for each reader with HPKE (RFC 9180,
base mode: X25519, HKDF-SHA256, AES-256-GCM; ``cryptography``'s implementation).

Readers are named by their Ed25519 identity keys, so anyone whose public key is known (a role claim, a
keystore entry) can be a recipient without publishing anything new: the Ed25519 public key is mapped to its
X25519 form (the birational map of RFC 7748 section 4.1, as libsodium's ``crypto_sign_ed25519_pk_to_curve25519``
and age's ``ssh-ed25519`` recipients do), and the private side is the clamped first half of SHA-512 of the
Ed25519 seed (RFC 8032 section 5.1.5), which only the key's holder has.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from artforge.errors import SealError

SEAL_SCHEME = "artforge-seal/1"
SEAL_MAGIC = b"AFSEAL1\n"  # never the start of a JPEG (FF D8) or a PNG, so a sealed thumbnail is recognisable
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
WRAPPED_KEY_BYTES = 32 + DATA_KEY_BYTES + 16  # HPKE's encapsulated X25519 key, the data key, the GCM tag
SEALED_PARTS = ("details", "thumbnail")  # a private work's title and licence; its matcher thumbnail
_FIELD_PRIME = 2**255 - 19
_LOWER_HEX = re.compile(r"[0-9a-f]+")
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)

# Opens an HPKE-wrapped data key with the reader's private half: (wrapped bytes, info) -> data key.
KeyOpener = Callable[[bytes, bytes], bytes]


def x25519_public_for(ed25519_public: bytes) -> bytes:
    """The X25519 public key (RFC 7748 u-coordinate) of an Ed25519 public key: u = (1 + y) / (1 - y) mod p."""
    if len(ed25519_public) != 32:
        raise SealError("an Ed25519 public key is 32 bytes")
    y = int.from_bytes(ed25519_public, "little") & ((1 << 255) - 1)
    if y >= _FIELD_PRIME or y == 1:  # y = 1 is the identity point: no Montgomery form
        raise SealError("not a usable Ed25519 public key")
    u = (1 + y) * pow(1 - y, _FIELD_PRIME - 2, _FIELD_PRIME) % _FIELD_PRIME
    return u.to_bytes(32, "little")


def key_opener_for(private_key: Ed25519PrivateKey) -> KeyOpener:
    """What opens data keys wrapped for ``private_key``'s public key (the private half stays in the closure)."""
    seed = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
    exchange_key = X25519PrivateKey.from_private_bytes(hashlib.sha512(seed).digest()[:32])  # X25519 clamps it

    def open_wrapped(wrapped: bytes, info: bytes) -> bytes:
        return _SUITE.decrypt(wrapped, exchange_key, info=info)

    return open_wrapped


def new_data_key() -> bytes:
    """A fresh random AES-256 key for one work's sealed parts."""
    return AESGCM.generate_key(bit_length=8 * DATA_KEY_BYTES)


def part_context(pixel_sha256: str, part: str) -> bytes:
    """The associated data of one sealed part: binds it to the work's pixels and to what it holds."""
    return f"{SEAL_SCHEME}\n{pixel_sha256}\n{part}".encode()


def is_sealed(blob: bytes | None) -> bool:
    """Whether stored bytes are a sealed part rather than plain data."""
    return blob is not None and bytes(blob[:len(SEAL_MAGIC)]) == SEAL_MAGIC


def seal_part(data_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """``SEAL_MAGIC || nonce || ciphertext`` of ``plaintext`` (a random nonce: a data key seals a few parts)."""
    nonce = os.urandom(NONCE_BYTES)
    return SEAL_MAGIC + nonce + AESGCM(data_key).encrypt(nonce, plaintext, context)


def open_part(data_key: bytes, sealed: bytes, context: bytes) -> bytes:
    """The plaintext of a sealed part; :class:`SealError` when it is not one, or was changed, or is another's."""
    sealed = bytes(sealed)
    if not is_sealed(sealed) or len(sealed) < len(SEAL_MAGIC) + NONCE_BYTES + 16:
        raise SealError("not a sealed part")
    body = sealed[len(SEAL_MAGIC):]
    try:
        return AESGCM(data_key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], context)
    except InvalidTag:
        raise SealError("the sealed part does not open with its data key (changed, or another work's)") from None


@dataclass(frozen=True)
class WrappedKey:
    """A work's data key wrapped for one reader's Ed25519 key."""

    key_id: str
    wrapped: bytes  # HPKE: encapsulated key || AES-256-GCM ciphertext of the data key

    def to_dict(self) -> dict:
        return {"key_id": self.key_id, "wrapped": self.wrapped.hex()}


def is_wrapped_key(entry: object) -> bool:
    """``{"key_id": 32 lower-case hex, "wrapped": lower-case hex of WRAPPED_KEY_BYTES}``, as records carry them."""
    return (isinstance(entry, dict) and set(entry) == {"key_id", "wrapped"}
            and isinstance(entry["key_id"], str) and _LOWER_HEX.fullmatch(entry["key_id"]) is not None
            and len(entry["key_id"]) == 32 and isinstance(entry["wrapped"], str)
            and len(entry["wrapped"]) == 2 * WRAPPED_KEY_BYTES and _LOWER_HEX.fullmatch(entry["wrapped"]) is not None)


def readers_well_formed(readers: object) -> bool:
    """A registration's ``private.readers``: for each sealed part, a list of wrapped keys."""
    return (isinstance(readers, dict) and set(readers) == set(SEALED_PARTS)
            and all(isinstance(readers[part], list) and all(is_wrapped_key(e) for e in readers[part])
                    for part in SEALED_PARTS))


def wrap_data_key(data_key: bytes, key_id: str, ed25519_public: bytes, context: bytes) -> WrappedKey:
    """``data_key`` wrapped for the holder of ``ed25519_public`` (its key id is ``key_id``)."""
    recipient = X25519PublicKey.from_public_bytes(x25519_public_for(ed25519_public))
    return WrappedKey(key_id, _SUITE.encrypt(data_key, recipient, info=context))


def unwrap_data_key(entry: WrappedKey, opener: KeyOpener, context: bytes) -> bytes:
    """The data key from ``entry``, opened by its reader; :class:`SealError` when it does not open."""
    try:
        data_key = opener(entry.wrapped, context)
    except Exception:  # noqa: BLE001 - InvalidTag, or a malformed encapsulation: either way it does not open
        raise SealError("the wrapped data key does not open with this key") from None
    if len(data_key) != DATA_KEY_BYTES:
        raise SealError("the wrapped data key has the wrong length")
    return data_key
