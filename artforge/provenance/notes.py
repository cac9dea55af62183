"""C2SP signed notes (c2sp.org/signed-note) with Ed25519, and the tlog checkpoint body (c2sp.org/tlog-checkpoint).

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID || signature)``.  The key ID is the first four bytes of
``SHA-256(name || 0x0A || 0x01 || public key)``; the signature is Ed25519 over the text.  A checkpoint's
text is the log's origin, its tree size in decimal and its root hash in base64, one per line.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ED25519 = b"\x01"
DASH = "\u2014 "


class NoteError(ValueError):
    """A note or checkpoint is malformed or its signature does not verify."""


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key under ``name``."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """The ``name+hash+base64(0x01 || key)`` form that note verifiers are configured with."""
    return f"{name}+{key_id(name, public_key).hex()}+{base64.b64encode(ED25519 + public_key).decode()}"


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not hold control characters")


def sign_note(text: str, name: str, public_key: bytes, sign: Callable[[bytes], bytes]) -> str:
    """The signed note: ``text``, a blank line, one Ed25519 signature line by ``sign``."""
    _check_name(name)
    _check_text(text)
    signature = sign(text.encode())
    return f"{text}\n{DASH}{name} {base64.b64encode(key_id(name, public_key) + signature).decode()}\n"


def open_note(note: str, name: str, public_key: bytes) -> str:
    """The text of ``note`` once a signature by (``name``, ``public_key``) verifies; :class:`NoteError` if not."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator:
        raise NoteError("not a signed note (no blank line before the signatures)")
    text += "\n"
    _check_text(text)
    wanted = key_id(name, public_key)
    found = False
    for line in signatures.split("\n"):
        if not line:
            continue
        if not line.startswith(DASH) or line.count(" ") != 2:
            raise NoteError("malformed signature line")
        signer, blob = line[len(DASH):].split(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            raise NoteError("signature is not base64") from None
        if signer != name or raw[:4] != wanted:
            continue  # another key's signature: not ours to judge
        found = True
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(raw[4:], text.encode())
        except InvalidSignature:
            raise NoteError(f"the signature by {name} does not verify") from None
    if not found:
        raise NoteError(f"the note is not signed by {name}")
    return text


@dataclass(frozen=True)
class Checkpoint:
    """A log's state: its origin, size and root hash."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> "Checkpoint":
        lines = text.split("\n")
        if len(lines) < 4 or not lines[0] or not lines[1].isdigit() or (len(lines[1]) > 1 and lines[1][0] == "0"):
            raise NoteError("not a checkpoint (origin, size, root hash)")
        try:
            root = base64.b64decode(lines[2], validate=True)
        except ValueError:
            raise NoteError("checkpoint root hash is not base64") from None
        if len(root) != 32:
            raise NoteError("checkpoint root hash is not 32 bytes")
        return cls(lines[0], int(lines[1]), root)
