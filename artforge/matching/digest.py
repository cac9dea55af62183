"""The digest of a work's stored match layers, which its registration (or its owner's attestation) signs.

The matcher decides by comparing a disputed image with a registered work's stored thumbnail and keypoints,
so those bytes are evidence: a layers row swapped with another work's, or edited, would credit a copy to the
wrong owner.  Registration signs this digest of the row; ``verify`` recomputes it before a row is used and
``audit`` checks every row, so an edited row is refused rather than believed.
"""

from __future__ import annotations

import hashlib

DIGEST_DOMAIN = b"artforge-layers/1\n"
# Every column of ``match_layers`` that the matcher reads, in a fixed order (the work id is the row's key and
# is checked by looking the digest up under it).
LAYER_COLUMNS = ("version", "pdq", "box", "box_pdq", "box_quality", "box_ahash", "points", "descriptors",
                 "thumbnail", "tile_ahash")


def _encoded(value: object) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode()


def layers_digest(row: dict) -> dict:
    """``{"version", "sha256"}`` of a ``match_layers`` row (a dict with at least :data:`LAYER_COLUMNS`).

    Each column is framed by its name and length, so no two different rows share an encoding; NULL is
    framed apart from an empty value.
    """
    digest = hashlib.sha256(DIGEST_DOMAIN)
    for name in LAYER_COLUMNS:
        value = _encoded(row.get(name))
        length = b"null" if value is None else str(len(value)).encode()
        digest.update(name.encode() + b" " + length + b"\n" + (value or b""))
    return {"version": int(row.get("version") or 0), "sha256": digest.hexdigest()}
