"""A token's metadata JSON: the ERC-721 metadata / OpenSea fields, plus the signed provenance record.

The bytes are RFC 8785 canonical JSON, so the same work always gives the same metadata and so the same
IPFS CID.  The signed registration record and the creator's public key are embedded: anyone holding the
metadata can check the signature offline (``python -m artforge.verify_record``) without trusting the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import rfc8785

from artforge.chain.ipfs import file_cid
from artforge.fsutil import atomic_write
from artforge.provenance.records import SignedRecord
from artforge.registry.licence_catalogue import Licence
from artforge.registry.rows import WorkRow

METADATA_SCHEMA = "artforge.token-metadata/1"


@dataclass(frozen=True)
class TokenMetadata:
    """Metadata bytes and the CIDs that name them and the image."""

    document: dict
    data: bytes
    cid: str
    image_cid: str

    @property
    def token_uri(self) -> str:
        return f"ipfs://{self.cid}"


def build_metadata(work: WorkRow, licence: Licence, registration: SignedRecord, creator_public_key: str,
                   image_bytes: bytes) -> TokenMetadata:
    """The metadata of a work's token; ``image_bytes`` are the registered image file's bytes."""
    fingerprints = registration.payload["work"]["fingerprints"]
    image_cid = file_cid(image_bytes)
    commercial = "allowed" if licence.terms.commercial else "not allowed"
    document = {
        "name": work.title,
        "description": (f"{work.title}. Registered with artforge under {licence.id} ({licence.name}); "
                        f"commercial use {commercial}. Provenance record {registration.record_id}, "
                        f"signed by Ed25519 key {work.creator_key_id}."),
        "image": f"ipfs://{image_cid}",
        "attributes": [
            {"trait_type": "Licence", "value": licence.id},
            {"trait_type": "Commercial use", "value": commercial},
            {"trait_type": "Creator key", "value": work.creator_key_id},
            {"trait_type": "Record id", "value": registration.record_id},
            {"trait_type": "SHA-256", "value": work.file_sha256},
            {"trait_type": "Pixel SHA-256", "value": work.pixel_sha256},
            {"trait_type": "PDQ", "value": fingerprints.get("pdq", "")},
            {"trait_type": "pHash", "value": fingerprints.get("phash64", "")},
            {"display_type": "number", "trait_type": "Width", "value": work.width},
            {"display_type": "number", "trait_type": "Height", "value": work.height},
        ],
        "artforge": {
            "schema": METADATA_SCHEMA,
            "licence": {"id": licence.id, "name": licence.name, "url": licence.url,
                        "terms": licence.terms.to_dict()},
            "creator_public_key": creator_public_key,
            "record": registration.to_dict(),
        },
    }
    data = rfc8785.dumps(document)
    return TokenMetadata(document, data, file_cid(data), image_cid)


def write_metadata(directory: Path, metadata: TokenMetadata) -> Path:
    """Store the metadata as ``<cid>.json`` (write-then-rename), ready to pin to IPFS under that CID."""
    path = directory / f"{metadata.cid}.json"
    if not path.exists():
        atomic_write(path, metadata.data)
    return path
