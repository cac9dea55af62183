"""Ed25519 signing identities: create, list, load (optionally passphrase-encrypted), export.

A key named ``NAME`` lives in two files of the keys folder:

* ``NAME.key``: the private key, PKCS#8 PEM, encrypted with the passphrase when one is given; mode 0600.
* ``NAME.json``: public facts (public key, key id, creation time, whether encrypted); readable without the
  passphrase.

Signing goes through :class:`Signer`, which holds only a ``sign(bytes) -> bytes`` callable, so a hardware
or remote key can stand in for a file key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from artforge.errors import Conflict, NotFound, SigningKeyError, UsageError, WrongPassphrase
from artforge.fsutil import atomic_write, ensure_private_dir
from artforge.provenance.sealing import KeyOpener, key_opener_for

KEY_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PUBLIC_KEY_HEX_LENGTH = 64

PassphraseProvider = Callable[[], bytes | None]


def key_id_for(public_key: bytes) -> str:
    """Key id: hex of the first 16 bytes of SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(public_key).digest()[:16].hex()


def parse_public_key(text: str) -> bytes:
    """Raw 32-byte Ed25519 public key from 64 hex characters; :class:`UsageError` otherwise."""
    candidate = text.strip().lower()
    if len(candidate) != PUBLIC_KEY_HEX_LENGTH or not re.fullmatch(r"[0-9a-f]+", candidate):
        raise UsageError("a public key is 64 hex characters (32 bytes, raw Ed25519)")
    return bytes.fromhex(candidate)


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class KeyInfo:
    """Public facts about a stored key."""

    name: str
    key_id: str
    public_key: str  # hex of the raw 32-byte public key
    created_at: str
    encrypted: bool

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Signer:
    """Something that signs bytes as one identity."""

    key_id: str
    public_key: bytes
    sign: Callable[[bytes], bytes]
    name: str = ""
    # Opens data keys of private works wrapped for this key (provenance/sealing.py); None for a callback signer.
    open_wrapped: KeyOpener | None = None

    def __repr__(self) -> str:  # never show the closure (it holds the private key)
        return f"Signer(name={self.name!r}, key_id={self.key_id!r})"

    @classmethod
    def from_callback(cls, public_key: bytes, sign: Callable[[bytes], bytes], name: str = "") -> "Signer":
        """A signer whose private key lives elsewhere (a hardware key, a KMS): ``sign`` returns the Ed25519
        signature of the bytes it is given.  It is tried once here, so a callback that signs with another
        key, or not at all, fails now rather than in a record nobody can verify."""
        if len(public_key) != 32:
            raise SigningKeyError("an Ed25519 public key is 32 bytes")
        probe = b"artforge signer probe"
        try:
            signature = sign(probe)
        except Exception as exc:  # noqa: BLE001 - any failure of the foreign signer means it cannot be used
            raise SigningKeyError(f"the signing callback failed ({type(exc).__name__})") from None
        if not isinstance(signature, bytes) or not verify_signature(public_key, signature, probe):
            raise SigningKeyError("the signing callback's signature does not verify with the given public key")
        return cls(key_id=key_id_for(public_key), public_key=bytes(public_key), sign=sign, name=name)

    @classmethod
    def from_private_key(cls, private_key: Ed25519PrivateKey, name: str = "") -> "Signer":
        """A signer backed by an in-memory private key."""
        public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(key_id=key_id_for(public), public_key=public, sign=private_key.sign, name=name,
                   open_wrapped=key_opener_for(private_key))


def _check_name(name: str) -> str:
    if not KEY_NAME_PATTERN.fullmatch(name):
        raise UsageError(
            f"invalid key name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


class KeyStore:
    """The keys folder of one artforge home."""

    def __init__(self, directory: Path):
        self.directory = directory

    def _paths(self, name: str) -> tuple[Path, Path]:
        _check_name(name)
        return self.directory / f"{name}.key", self.directory / f"{name}.json"

    def exists(self, name: str) -> bool:
        """Whether a key of this name is stored."""
        return self._paths(name)[1].exists()

    def create(self, name: str, passphrase: bytes | None | PassphraseProvider = None) -> KeyInfo:
        """Generate and store a new key; refuses to overwrite an existing one.

        ``passphrase`` may be a provider: it is asked only once the name is known to be free.
        """
        private_path, info_path = self._paths(name)
        if info_path.exists() or private_path.exists():
            raise Conflict(f"key {name!r} already exists")
        if callable(passphrase):
            passphrase = passphrase()
        if passphrase is not None and not passphrase:
            raise UsageError("the passphrase is empty")
        ensure_private_dir(self.directory)
        private_key = Ed25519PrivateKey.generate()
        encryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        info = KeyInfo(
            name=name,
            key_id=key_id_for(public),
            public_key=public.hex(),
            created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            encrypted=bool(passphrase),
        )
        atomic_write(private_path, pem, mode=0o600)
        # The info file is written last: a key "exists" only once both files are complete.
        atomic_write(info_path, json.dumps(info.to_dict(), indent=2).encode() + b"\n", mode=0o644)
        return info

    def info(self, name: str) -> KeyInfo:
        """Public facts of a stored key."""
        _, info_path = self._paths(name)
        try:
            data = json.loads(info_path.read_text())
            return KeyInfo(**{field: data[field] for field in KeyInfo.__dataclass_fields__})
        except FileNotFoundError:
            raise NotFound(f"no key named {name!r} (see 'artforge keys list')") from None
        except (OSError, ValueError, KeyError, TypeError):
            raise SigningKeyError(f"key {name!r}: its public info file is unreadable") from None

    def list(self) -> list[KeyInfo]:
        """All stored keys, by name."""
        if not self.directory.is_dir():
            return []
        return [self.info(path.stem) for path in sorted(self.directory.glob("*.json"))]

    def find_by_key_id(self, key_id: str) -> KeyInfo | None:
        """The stored key with this key id, if any."""
        return next((info for info in self.list() if info.key_id == key_id), None)

    def public_pem(self, name: str) -> str:
        """SubjectPublicKeyInfo PEM of a stored key (no passphrase needed)."""
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.info(name).public_key))
        return public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def signer(self, name: str, passphrase: PassphraseProvider | None = None) -> Signer:
        """Load a private key for signing; the provider is asked only when the key is encrypted."""
        info = self.info(name)
        private_path, _ = self._paths(name)
        try:
            pem = private_path.read_bytes()
        except FileNotFoundError:
            raise SigningKeyError(f"key {name!r}: private key file is missing") from None
        except PermissionError:
            raise SigningKeyError(f"key {name!r}: private key file is not readable") from None
        secret = None
        if info.encrypted:
            secret = passphrase() if passphrase is not None else None
            if not secret:
                raise SigningKeyError(
                    f"key {name!r} is encrypted: give its `passphrase` (or run on a terminal)"
                )
        try:
            private_key = serialization.load_pem_private_key(pem, password=secret)
        except TypeError:
            raise SigningKeyError(f"key {name!r}: encrypted state does not match its info file") from None
        except (ValueError, UnsupportedAlgorithm):
            if info.encrypted:
                raise WrongPassphrase(f"wrong passphrase for key {name!r}") from None
            raise SigningKeyError(f"key {name!r}: private key file is damaged") from None
        if not isinstance(private_key, Ed25519PrivateKey):
            raise SigningKeyError(f"key {name!r} is not an Ed25519 key")
        signer = Signer.from_private_key(private_key, name=name)
        if signer.key_id != info.key_id:
            raise SigningKeyError(f"key {name!r}: private key does not match its public info")
        return signer
