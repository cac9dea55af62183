"""Content Credentials (C2PA 2.x) made from a work's signed record, signed and read with ``c2pa-python``.

The manifest says what the registration record says, in the vocabulary other C2PA readers know:

* ``c2pa.actions``: ``c2pa.created``; for a generated image the IPTC digital source type
  ``trainedAlgorithmicMedia`` and the model, checkpoint hash, seed and prompt; for a stylized one
  ``compositeWithTrainedAlgorithmicMedia``;
* ``cawg.training-mining``: the licence's terms for data mining, AI inference, training and generative training;
* ``stds.schema-org.CreativeWork``: title, creator (the identity's name and key id) and licence;
* ``c2pa.soft-binding``: artforge's PDQ of the pixels, which finds the work again after the file was re-encoded;
* ``org.artforge.provenance``: the record id and the whole signed record (payload and Ed25519 signature), so the
  image carries what ``python -m artforge.verify_record`` checks offline;
* ingredients: the parents the record names (a stylized image's content and style works), by title and
  record id, without their pixels; for an image from a fine-tuned model, its base checkpoint (``inputTo``).

``c2pa`` (a native library) is imported inside the functions: nothing else pays for it.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from artforge.errors import BadInput
from artforge.version import __version__

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
PROVENANCE_LABEL = "org.artforge.provenance"
SOFT_BINDING_ALG = "org.artforge.pdq"
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "TIFF": "image/tiff"}
# C2PA 2.x requires a digital source type on c2pa.created.  A plain registration does not say how its image was
# made: it is declared digitalCreation (made on a computer), the closest honest default (docs/credentials.md).
_SOURCE_TYPES = {"generated": "trainedAlgorithmicMedia", "stylized": "compositeWithTrainedAlgorithmicMedia"}
DEFAULT_SOURCE_TYPE = "digitalCreation"
_CAWG_USES = {"data_mining": "cawg.data_mining", "ai_inference": "cawg.ai_inference",
              "ai_training": "cawg.ai_training", "ai_generative_training": "cawg.ai_generative_training"}


def _created_action(origin: dict) -> dict:
    action: dict = {"action": "c2pa.created", "softwareAgent": {"name": "artforge", "version": __version__}}
    action["digitalSourceType"] = IPTC + _SOURCE_TYPES.get(origin.get("type", ""), DEFAULT_SOURCE_TYPE)
    generator = origin.get("generator")
    if isinstance(generator, dict):
        action["parameters"] = {key: generator.get(key) for key in (
            "family", "checkpoint_sha256", "checkpoint_step", "seed", "prompt", "label", "class_name")
            if generator.get(key) is not None}
    elif origin.get("type") == "stylized":
        action["parameters"] = {"method": origin.get("method"),
                                "model": (origin.get("model") or {}).get("checkpoint_sha256")}
    return action


def training_mining(terms: dict) -> dict:
    """The CAWG training-and-data-mining assertion of a licence's terms."""
    entries = {}
    for use, label in _CAWG_USES.items():
        value = terms.get(use, "allowed")
        entry = {"use": value}
        if value == "constrained" and terms.get("constraint_info"):
            entry["constraint_info"] = terms["constraint_info"]
        entries[label] = entry
    return {"entries": entries}


def manifest_for(record: dict, creator: str, parents: list[dict]) -> dict:
    """The manifest definition of a registered work.

    ``record`` is the registration as stored (``record_id``, ``payload``, ``signature``); ``creator`` the signing
    identity's name; ``parents`` ``{"record_id", "title"}`` of each parent work.
    """
    payload = record["payload"]
    work, licence = payload["work"], payload["licence"]
    pdq = bytes.fromhex(work["fingerprints"]["pdq"])
    author = {"@type": "Person", "name": creator, "identifier": f"artforge:key:{payload['signer']['key_id']}"}
    return {
        "claim_generator_info": [{"name": "artforge", "version": __version__}],
        "title": work["title"],
        "format": "image/png",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [_created_action(payload.get("origin", {}))]}},
            {"label": "cawg.training-mining", "data": training_mining(licence["terms"])},
            {"label": "stds.schema-org.CreativeWork", "kind": "Json", "data": {
                "@context": "https://schema.org", "@type": "CreativeWork", "name": work["title"],
                "author": [author], "license": licence["id"], "identifier": f"artforge:record:{record['record_id']}"}},
            {"label": "c2pa.soft-binding", "data": {
                "alg": SOFT_BINDING_ALG, "blocks": [{"scope": {}, "value": base64.b64encode(pdq).decode()}]}},
            {"label": PROVENANCE_LABEL, "data": {"record_id": record["record_id"], "record": record}},
        ],
        "ingredients": [{"title": parent["title"], "format": "application/octet-stream", "relationship": "parentOf",
                         "instance_id": f"artforge:record:{parent['record_id']}"} for parent in parents]
                       + _base_model(payload.get("origin", {})),
    }


def _base_model(origin: dict) -> list[dict]:
    """A fine-tuned model's base checkpoint, as an ingredient the image was made with (``inputTo``)."""
    base = (origin.get("generator") or {}).get("parent")
    if not isinstance(base, dict) or not base.get("checkpoint_sha256"):
        return []
    return [{"title": f"base model: {base.get('family', 'checkpoint')} step {base.get('step')}",
             "format": "application/octet-stream", "relationship": "inputTo",
             "instance_id": f"artforge:checkpoint:{base['checkpoint_sha256']}"}]


def embed(manifest: dict, data: bytes, mime: str, sign: Callable[[bytes], bytes], chain_pem: str) -> bytes:
    """``data`` (an image file's bytes, of type ``mime``) with ``manifest`` signed by ``sign`` (Ed25519) and
    embedded; the pixels are not re-encoded.  :class:`BadInput` when the library refuses the file."""
    import c2pa

    manifest = {**manifest, "format": mime}
    try:
        context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
        signer = c2pa.Signer.from_callback(sign, c2pa.C2paSigningAlg.ED25519, chain_pem, None)
        builder = c2pa.Builder(manifest, context=context)
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(data), out)
    except c2pa.C2paError as error:
        raise BadInput(f"cannot embed Content Credentials: {_one_line(error)}") from None
    return out.getvalue()


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:300]


@dataclass(frozen=True)
class CredentialsReading:
    """What a file's Content Credentials say, and whether they hold."""

    state: str  # "trusted", "valid" (signature holds, signer not in the trust list), "invalid" or "unreadable"
    record_id: str | None = None  # the artforge record the manifest carries, if any
    record: dict | None = None  # that signed record as carried
    signer: str | None = None  # the signing certificate's subject common name
    title: str | None = None
    failures: list[str] = field(default_factory=list)  # validation codes that failed

    def to_dict(self) -> dict:
        return {"state": self.state, "record_id": self.record_id, "signer": self.signer, "title": self.title,
                "failures": self.failures}


def has_manifest(data: bytes) -> bool:
    """A cheap first look: whether the bytes may hold a C2PA manifest store (its JUMBF label)."""
    return b"c2pa" in data


def read(data: bytes, mime: str, trust_anchors_pem: str | None) -> CredentialsReading | None:
    """The Content Credentials of a file, or None when it carries none.

    A manifest signed by a certificate that chains to ``trust_anchors_pem`` is ``trusted``; one whose signature
    holds but whose signer is not in that list is ``valid``; one whose signature, hashes or binding to the
    pixels fail is ``invalid``.
    """
    import c2pa

    settings: dict = {"builder": {"thumbnail": {"enabled": False}}}
    if trust_anchors_pem:
        settings.update({"trust": {"trust_anchors": trust_anchors_pem}, "verify": {"verify_trust": True}})
    try:
        reader = c2pa.Reader(mime, io.BytesIO(data), context=c2pa.Context.from_dict(settings))
    except c2pa.C2paError as error:
        if "ManifestNotFound" in type(error).__name__ or "no JUMBF" in str(error) or "not found" in str(error).lower():
            return None
        return CredentialsReading("unreadable", failures=[_one_line(error)])
    state = (reader.get_validation_state() or "").lower()
    manifest = reader.get_active_manifest() or {}
    results = reader.get_validation_results() or {}
    failures = [item.get("code", "") for item in (results.get("activeManifest") or {}).get("failure", [])]
    provenance = next((a.get("data") for a in manifest.get("assertions", []) if a.get("label") == PROVENANCE_LABEL), None)
    signer = (manifest.get("signature_info") or {}).get("common_name")
    if state not in ("trusted", "valid"):
        state = "invalid"
    return CredentialsReading(state, (provenance or {}).get("record_id"), (provenance or {}).get("record"), signer,
                              manifest.get("title"), failures)


def mime_of(image_format: str) -> str | None:
    """The C2PA MIME type of a Pillow format name, or None when C2PA cannot be embedded in it here."""
    return MIME_TYPES.get(image_format.upper())
