"""``artforge attest``: have this home's keys sign what an older artforge stored unsigned.

Before match layers, names and custom licences were signed, they were plain rows that anyone with write
access could edit.  ``attest`` signs them once, each by the key entitled to:

* a work's match layers, by its owner, as an ``attestation`` record appended to the work's chain (refused
  for a layers row that does not fit the work's signed fingerprints: a row edited or swapped before the
  attestation must not be laundered by it);
* a key's display name, by the key itself;
* a custom licence, by the key that runs ``attest`` (the home's default key unless ``--key``);
* a contract deployment or a minted token recorded before they were logged, by the log key, as the events
  a deployment or a mint logs today.

A key that cannot be opened (a passphrase of its own) is skipped and named; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from artforge.chain import events, store
from artforge.errors import SigningKeyError
from artforge.matching import layer_store
from artforge.matching.digest import layers_digest
from artforge.matching.layers import decode_thumbnail, pdq_bits
from artforge.provenance.keys import Signer
from artforge.provenance.records import attestation_payload, check_chain, sign_payload, utc_now
from artforge.registry.claims import licence_payload
from artforge.registry.database import Registry
from artforge.usecases import access
from artforge.usecases.facts import derive_facts, row_problems
from artforge.usecases.home import Home
from artforge.usecases.reindex import fill_tiles

# A stored thumbnail's PDQ against the PDQ signed at registration: resizing to the thumbnail moves a few
# bits; another work's thumbnail differs in about half of the 256.
MAX_THUMBNAIL_PDQ_DISTANCE = 64
MAX_ASPECT_DIFFERENCE = 0.05


@dataclass
class AttestResult:
    """What ``attest`` signed, and what it could not."""

    layers_attested: list[str] = field(default_factory=list)  # work ids
    names_signed: list[str] = field(default_factory=list)  # key names
    licences_signed: list[str] = field(default_factory=list)  # licence ids
    chain_events: int = 0  # deployments and mints logged
    refused: list[str] = field(default_factory=list)  # why a work's layers were not attested
    skipped_keys: list[str] = field(default_factory=list)  # keys that could not be opened
    not_local: int = 0  # works owned by keys that are not in this home

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def layers_fit(row: dict, fingerprints: dict) -> str | None:
    """Why a stored layers row cannot be this work's (its signed fingerprints say otherwise), or None."""
    if bytes(row["pdq"]).hex() != fingerprints.get("pdq"):
        return "its global PDQ is not the signed one"
    thumbnail = decode_thumbnail(bytes(row["thumbnail"]))
    height, width = thumbnail.shape[:2]
    aspect, signed_aspect = width / height, fingerprints["width"] / fingerprints["height"]
    if abs(np.log(aspect / signed_aspect)) > MAX_ASPECT_DIFFERENCE + 1 / min(width, height):
        return "its thumbnail has another shape than the signed image"
    bits, _ = pdq_bits(thumbnail)
    distance = int(np.unpackbits(np.frombuffer(bits.tobytes(), np.uint8) ^ np.frombuffer(
        bytes.fromhex(fingerprints["pdq"]), np.uint8)).sum())
    if distance > MAX_THUMBNAIL_PDQ_DISTANCE:
        return f"its thumbnail's PDQ is {distance} bits from the signed one"
    return None


class _Signers:
    """This home's keys by key id, opened on first use; one that cannot be opened is remembered as such."""

    def __init__(self, home: Home, result: AttestResult):
        self.home, self.result = home, result
        self.names = {info.key_id: info.name for info in home.keystore.list()}
        self.opened: dict[str, Signer | None] = {}

    def get(self, key_id: str) -> Signer | None:
        if key_id not in self.opened:
            signer = None
            if key_id in self.names:
                try:
                    signer = self.home.signer(self.names[key_id])
                except SigningKeyError as exc:
                    self.result.skipped_keys.append(f"{self.names[key_id]}: {exc}")
            self.opened[key_id] = signer
        return self.opened[key_id]


def _attest_layers(registry: Registry, signers: _Signers, result: AttestResult) -> None:
    for work_id in layer_store.layer_work_ids(registry, full_only=True):
        records = registry.records(work_id)
        if not records or check_chain(records):
            result.refused.append(f"{work_id[:12]}: its record chain does not verify")
            continue
        facts = derive_facts(records)
        if facts.layers is not None:
            continue
        row = layer_store.match_layers_of(registry, work_id)
        unfit = "; ".join(row_problems(registry, facts)) or layers_fit(row, facts.fingerprints)
        if unfit:
            result.refused.append(f"{work_id[:12]}: {unfit}")
            continue
        signer = signers.get(facts.work.owner_key_id)
        if signer is None:
            result.not_local += facts.work.owner_key_id not in signers.names
            continue
        payload = attestation_payload(work_id, facts.work.head_record_id, layers_digest(row))
        registry.append_record(work_id, sign_payload(payload, signer))
        result.layers_attested.append(work_id)


def attest(home: Home, key_name: str | None = None) -> AttestResult:
    """Sign the match layers, key names and custom licences that older versions left unsigned (one
    transaction); see the module docstring for who signs what."""
    result = AttestResult()
    signers = _Signers(home, result)
    licence_signer = home.signer(key_name)
    with home.registry() as registry:
        fill_tiles(registry)  # layers change once more when older rows get their tiles: attest them after
        with registry.transaction():
            access.require(registry, licence_signer.key_id, "attest")
            _attest_layers(registry, signers, result)
            for key_id, name in signers.names.items():
                signer = signers.get(key_id)
                if signer is not None and registry.identity_name(key_id) is None:
                    registry.remember_identity(key_id, signer.public_key.hex(), utc_now())
                    registry.name_identity(signer, name)
                    result.names_signed.append(name)
            for licence in registry.licences():
                if licence.unsigned:
                    registry.add_claim(sign_payload(licence_payload(licence), licence_signer))
                    result.licences_signed.append(licence.id)
            result.chain_events = _log_chain_rows(registry, home)
    return result


def _log_chain_rows(registry: Registry, home: Home) -> int:
    """Log the deployments and minted tokens that no event covers yet (recorded before they were logged)."""
    db = registry.db
    deployed = {(e["deployment"]["chain_id"], e["deployment"]["address"])
                for e in events.chain_events(db, events.DEPLOYMENT_TYPE)}
    minted = {(e["token"]["chain_id"], e["token"]["contract"], e["token"]["token_id"])
              for e in events.chain_events(db, events.MINT_TYPE)}
    pending = [(events.deployment_payload(d.to_dict()), "")
               for d in store.deployments(registry) if (d.chain_id, d.address) not in deployed]
    pending += [(events.mint_payload(t.work_id, t.to_dict()), t.work_id)
                for t in store.all_tokens(registry)
                if t.status == store.MINTED and (t.chain_id, t.contract, t.token_id) not in minted]
    for payload, work_id in pending:
        registry.log_record(sign_payload(payload, home.log_signer()), work_id)
    return len(pending)
