"""The registry's schema, as ordered migrations: each function takes the database from one version to the next.

:class:`artforge.registry.database.Registry` applies the pending ones when it opens a file and records them in
``_migrations``.  Append only: a migration that has shipped is never edited or reordered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import rfc8785

from artforge.errors import RegistryError, SchemaTooNew
from artforge.provenance.records import utc_now
from artforge.registry.backends import Database
from artforge.registry.licence_catalogue import Licence

# The built-in licences as schema 1 shipped them: (id, name, url, commercial, derivatives, share_alike,
# attribution, the CAWG data-mining/AI terms, constraint info).  Frozen here, not read from the live catalogue:
# a licence added to the catalogue later comes with a migration of its own (tests/test_registry.py checks
# that a new registry's rows are the catalogue's).
_BUILTIN_LICENCES_V1 = [
    ("CC0-1.0", "Creative Commons Zero v1.0 Universal",
     "https://creativecommons.org/publicdomain/zero/1.0/", 1, 1, 0, 0, "allowed", ""),
    ("CC-BY-4.0", "Creative Commons Attribution 4.0 International",
     "https://creativecommons.org/licenses/by/4.0/", 1, 1, 0, 1, "constrained", "attribution"),
    ("CC-BY-SA-4.0", "Creative Commons Attribution Share Alike 4.0 International",
     "https://creativecommons.org/licenses/by-sa/4.0/", 1, 1, 1, 1, "constrained", "attribution; share-alike"),
    ("CC-BY-NC-4.0", "Creative Commons Attribution Non Commercial 4.0 International",
     "https://creativecommons.org/licenses/by-nc/4.0/", 0, 1, 0, 1, "constrained",
     "attribution; non-commercial use only"),
    ("CC-BY-ND-4.0", "Creative Commons Attribution No Derivatives 4.0 International",
     "https://creativecommons.org/licenses/by-nd/4.0/", 1, 0, 0, 1, "constrained",
     "attribution; no adapted material may be shared"),
    ("CC-BY-NC-SA-4.0", "Creative Commons Attribution Non Commercial Share Alike 4.0 International",
     "https://creativecommons.org/licenses/by-nc-sa/4.0/", 0, 1, 1, 1, "constrained",
     "attribution; non-commercial use only; share-alike"),
    ("CC-BY-NC-ND-4.0", "Creative Commons Attribution Non Commercial No Derivatives 4.0 International",
     "https://creativecommons.org/licenses/by-nc-nd/4.0/", 0, 0, 0, 1, "constrained",
     "attribution; non-commercial use only; no adapted material may be shared"),
    ("LicenseRef-All-Rights-Reserved", "All rights reserved",
     "", 0, 0, 0, 1, "notAllowed", "no use without a written grant from the owner"),
]


def _migration_1_initial(db: Database) -> None:
    db["identities"].create(
        {"key_id": str, "public_key": str, "name": str, "first_seen": str},
        pk="key_id",
        not_null={"public_key"},
    )
    db["licences"].create(
        {
            "id": str, "name": str, "url": str, "builtin": int, "commercial": int, "derivatives": int,
            "share_alike": int, "attribution": int, "data_mining": str, "ai_inference": str,
            "ai_training": str, "ai_generative_training": str, "constraint_info": str, "text": str,
        },
        pk="id",
        not_null={"name"},
    )
    db["works"].create(
        {
            "id": str, "title": str, "pixel_sha256": str, "file_sha256": str, "width": int, "height": int,
            "creator_key_id": str, "owner_key_id": str, "licence_id": str, "origin": str, "parents": str,
            "created_at": str, "head_record_id": str, "record_count": int,
        },
        pk="id",
        not_null={"pixel_sha256", "creator_key_id", "owner_key_id", "licence_id", "created_at"},
        foreign_keys=[("licence_id", "licences", "id"), ("creator_key_id", "identities", "key_id"),
                      ("owner_key_id", "identities", "key_id")],
    )
    db["works"].create_index(["pixel_sha256"])
    db["works"].create_index(["file_sha256"])
    db["fingerprints"].create(
        {
            "work_id": str, "version": int, "file_sha256": str, "pixel_sha256": str, "phash64": str,
            "phash256": str, "dhash": str, "pdq": str, "pdq_quality": int, "colorhash": str,
            "width": int, "height": int, "mode": str,
        },
        pk="work_id",
        foreign_keys=[("work_id", "works", "id")],
    )
    db["records"].create(
        {
            "id": str, "work_id": str, "seq": int, "type": str, "prev_id": str, "signer_key_id": str,
            "created_at": str, "payload": str, "signature": str,
        },
        pk="id",
        not_null={"work_id", "seq", "type", "payload", "signature"},
    )
    db["records"].create_index(["work_id", "seq"], unique=True)
    db["grants"].create(
        {
            "record_id": str, "work_id": str, "grantee": str, "terms": str, "until": str,
            "granted_by": str, "created_at": str,
        },
        pk="record_id",
        foreign_keys=[("record_id", "records", "id"), ("work_id", "works", "id")],
    )
    db["grants"].create_index(["work_id"])
    db["transfers"].create(
        {"record_id": str, "work_id": str, "from_key_id": str, "to_key_id": str, "created_at": str},
        pk="record_id",
        foreign_keys=[("record_id", "records", "id"), ("work_id", "works", "id"),
                      ("to_key_id", "identities", "key_id")],
    )
    db["transfers"].create_index(["work_id"])
    for id_, name, url, commercial, derivatives, share_alike, attribution, tdm, info in _BUILTIN_LICENCES_V1:
        db["licences"].insert({"id": id_, "name": name, "url": url, "builtin": 1, "commercial": commercial,
                               "derivatives": derivatives, "share_alike": share_alike, "attribution": attribution,
                               "data_mining": tdm, "ai_inference": tdm, "ai_training": tdm,
                               "ai_generative_training": tdm, "constraint_info": info, "text": ""})


def _migration_2_match_layers(db: Database) -> None:
    # The matcher's layers (artforge.matching.layers).  Works registered before this migration get a row
    # with only their global PDQ; ``artforge index rebuild --images`` fills in the rest from the images.
    db["match_layers"].create(
        {
            "work_id": str, "version": int, "pdq": bytes, "box": str, "box_pdq": bytes, "box_quality": int,
            "box_ahash": bytes, "points": bytes, "descriptors": bytes, "thumbnail": bytes,
        },
        pk="work_id",
        not_null={"pdq"},
        foreign_keys=[("work_id", "works", "id")],
    )
    for work_id, pdq in db.execute("SELECT work_id, pdq FROM fingerprints ORDER BY rowid").fetchall():
        db["match_layers"].insert({"work_id": work_id, "version": 0, "pdq": bytes.fromhex(pdq)})


def _migration_3_tone_tiles(db: Database) -> None:
    # Average hashes of windows of smooth works (artforge.matching.layers.tile_hashes).  NULL until computed:
    # ``artforge index rebuild`` computes them from the stored thumbnails.
    db["match_layers"].add_column("tile_ahash", bytes)


def _migration_4_frame_tile(db: Database) -> None:
    # Tone tiles gained a 19th, the frame itself (stripe art peels a stripe as its border).  Rows with the
    # 18 older tiles are marked to be computed again by ``artforge index rebuild``; until then they keep
    # their content-box hash.
    db.execute("UPDATE match_layers SET tile_ahash = NULL WHERE length(tile_ahash) = ?", [18 * 32])


def _migration_5_chain(db: Database) -> None:
    # Tokens on EVM chains (artforge.chain).  A chain is known by its id; a deployment is checked by the
    # code at its address each time it is used.  RPC URLs are not stored: they often carry an API key.
    db["chain_deployments"].create(
        {
            "chain_id": int, "address": str, "network": str, "deployer": str, "tx_hash": str, "block": int,
            "code_sha256": str, "created_at": str,
        },
        pk=("chain_id", "address"),
        not_null={"network", "code_sha256", "created_at"},
    )
    # One row per (contract, provenance record): 'pending' from just before the transaction is sent until
    # its receipt says 'minted' or 'failed'; never 'minted' without a receipt.
    db["tokens"].create(
        {
            "chain_id": int, "contract": str, "record_id": str, "work_id": str, "token_id": int,
            "recipient": str, "royalty_receiver": str, "royalty_bps": int, "token_uri": str,
            "metadata_cid": str, "image_cid": str, "tx_hash": str, "block": int, "status": str,
            "error": str, "created_at": str, "updated_at": str,
        },
        pk=("chain_id", "contract", "record_id"),
        not_null={"work_id", "status", "token_uri", "created_at", "updated_at"},
        foreign_keys=[("work_id", "works", "id")],
    )
    db["tokens"].create_index(["work_id"])


def _migration_6_transparency_log(db: Database) -> None:
    # The transparency log (artforge.registry.transparency_log).  Records stored before it are appended in the
    # order they were stored; the first checkpoint is signed by the next command that writes (or 'artforge
    # log checkpoint'), since a migration holds no key.
    db["log_leaves"].create(
        {"idx": int, "kind": str, "record_id": str, "work_id": str, "leaf": bytes, "leaf_hash": bytes,
         "created_at": str},
        pk="idx",
        not_null={"kind", "record_id", "leaf", "leaf_hash"},
    )
    db["log_leaves"].create_index(["record_id"], unique=True)
    db["log_nodes"].create({"level": int, "idx": int, "hash": bytes}, pk=("level", "idx"), not_null={"hash"})
    db["log_keys"].create({"key_id": str, "origin": str, "public_key": str, "created_at": str}, pk="key_id")
    db["log_checkpoints"].create(
        {"size": int, "root": bytes, "note": str, "key_id": str, "created_at": str},
        pk="size",
        not_null={"root", "note", "key_id"},
    )
    _log_stored_records_v6(db)


def _log_stored_records_v6(db: Database) -> None:
    """Append every stored record to the new log, as the log of schema 6 wrote leaves and nodes.

    Frozen: this is the leaf format and node layout of that version, written out here rather than called
    from :mod:`artforge.registry.transparency_log`, so that a later change there cannot change what this
    step writes for a home that upgrades from schema 5 years from now.
    """
    def sha256(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    nodes: dict[tuple[int, int], bytes] = {}  # (level, index) -> hash of that perfect subtree
    created_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    rows = db.execute("SELECT work_id, payload, signature FROM records ORDER BY rowid").fetchall()
    for index, (work_id, payload, signature) in enumerate(rows):
        body = json.loads(payload)
        record_id = sha256(rfc8785.dumps(body)).hex()  # a record's id: SHA-256 of its canonical payload
        leaf = rfc8785.dumps({"payload": body, "signature": signature})
        level, position, digest = 0, index, sha256(b"\x00" + leaf)  # RFC 9162 leaf hash
        db["log_leaves"].insert({"idx": index, "kind": "record", "record_id": record_id, "work_id": work_id,
                                 "leaf": leaf, "leaf_hash": digest, "created_at": created_at})
        completed = [(level, position, digest)]
        while position & 1:  # each parent this leaf closes: RFC 9162 node hash of left and right
            digest = sha256(b"\x01" + nodes[(level, position - 1)] + digest)
            level, position = level + 1, position >> 1
            completed.append((level, position, digest))
        for level_, position_, value in completed:
            nodes[(level_, position_)] = value
        db["log_nodes"].insert_all({"level": lv, "idx": ix, "hash": h} for lv, ix, h in completed)


def _migration_7_claims(db: Database) -> None:
    # Signed claims about keys and licences (artforge.registry.claims), logged like records.  Names and custom
    # licences stored before it stay as they are: unsigned labels, shown as such, until 'artforge attest'
    # has their keys sign them.  A migration holds no key, so it signs nothing itself.
    db["claims"].create(
        {"id": str, "type": str, "subject": str, "signer_key_id": str, "created_at": str, "payload": str,
         "signature": str},
        pk="id",
        not_null={"type", "subject", "payload", "signature"},
    )
    db["claims"].create_index(["type", "subject"])
    db["log_leaves"].create_index(["work_id"])  # a work's mint events, read by every 'show'


def _migration_8_watermarks(db: Database) -> None:
    # Which work's signed registration carries an invisible mark id (artforge.matching.mark_store owns it):
    # an index over signed facts, checked by audit, so 'verify' can name the work a decoded mark belongs to.
    db["watermarks"].create({"mark_id": str, "work_id": str, "scheme": str}, pk="mark_id",
                            not_null={"work_id", "scheme"})
    db["watermarks"].create_index(["work_id"])


def _migration_9_access_denials(db: Database) -> None:
    # Refused attempts on a registry with roles (artforge.registry.roles owns it): a log of events for whoever
    # runs the registry, signed by nobody and never shown as a fact.
    db["access_denials"].create({"id": int, "at": str, "key_id": str, "action": str, "target": str, "reason": str},
                                pk="id", not_null={"at", "key_id", "action"})


def _migration_10_private_works(db: Database) -> None:
    # A private work's sealed title and licence (artforge.registry.sealed_store owns it); its registration signs
    # the SHA-256 of ``details``, and the data keys are wrapped in that registration and in key-share claims.
    db["sealed_works"].create({"work_id": str, "details": bytes}, pk="work_id", not_null={"details"})
    db["licences"].insert({  # frozen as shipped, like schema 1's built-in rows
        "id": "LicenseRef-Private", "name": "Private work: its licence is sealed; ask the owner", "url": "",
        "builtin": 1, "commercial": 0, "derivatives": 0, "share_alike": 0, "attribution": 1,
        "data_mining": "notAllowed", "ai_inference": "notAllowed", "ai_training": "notAllowed",
        "ai_generative_training": "notAllowed",
        "constraint_info": "a private work: no use without the owner's permission", "text": ""})


# Append only: never edit or reorder a migration that has shipped.
MIGRATIONS: list[tuple[str, Callable[[Database], None]]] = [
    ("initial", _migration_1_initial),
    ("match_layers", _migration_2_match_layers),
    ("tone_tiles", _migration_3_tone_tiles),
    ("frame_tile", _migration_4_frame_tile),
    ("chain", _migration_5_chain),
    ("transparency_log", _migration_6_transparency_log),
    ("claims", _migration_7_claims),
    ("watermarks", _migration_8_watermarks),
    ("access_denials", _migration_9_access_denials),
    ("private_works", _migration_10_private_works),
]
SCHEMA_VERSION = len(MIGRATIONS)


def licence_row(licence: Licence) -> dict:
    """A licence as a row of the ``licences`` table."""
    return {
        "id": licence.id, "name": licence.name, "url": licence.url, "builtin": int(licence.builtin),
        **{k: (int(v) if isinstance(v, bool) else v) for k, v in licence.terms.to_dict().items()},
        "text": licence.text,
    }


def _applied_version(backend: Any, where: str, *, in_transaction: bool = False) -> int | None:
    """The schema version, or None for an empty database; refuses a database that is something else."""
    db = backend.db
    if not in_transaction:  # the common case in one statement (listing tables costs PostgreSQL a catalogue query)
        try:
            return db.execute("SELECT COALESCE(MAX(id), 0) FROM _migrations").fetchone()[0]
        except backend.error:
            pass  # no such table: an empty database, or someone else's
    tables = set(db.table_names())
    if tables and "_migrations" not in tables:
        article = "an SQLite" if backend.kind == "sqlite" else "a PostgreSQL"
        raise RegistryError(f"{where}: {article} database, but not an artforge registry")
    if "_migrations" not in tables:
        return None
    return db.execute("SELECT COALESCE(MAX(id), 0) FROM _migrations").fetchone()[0]


def bring_up_to_date(backend: Any, where: str, create: bool) -> None:
    """Apply the pending migrations (with ``create``, to an empty database too) under the writer lock, so two
    clients opening a new registry at once migrate it once; refuse a newer schema or a foreign database."""
    db = backend.db
    applied = _applied_version(backend, where)
    if applied is None and not create and backend.kind != "sqlite":
        raise RegistryError(f"{where}: an empty database, not yet a registry: run 'artforge init' first")
    if applied is not None and applied > SCHEMA_VERSION:
        raise SchemaTooNew(f"{where}: registry schema v{applied} is newer than this artforge supports "
                           f"(v{SCHEMA_VERSION}); upgrade artforge")
    if applied == SCHEMA_VERSION:
        return
    backend.begin_write()
    try:
        applied = _applied_version(backend, where, in_transaction=True) or 0
        if applied == 0 and "_migrations" not in db.table_names():
            db["_migrations"].create({"id": int, "name": str, "applied_at": str}, pk="id")
        for number, (name, migrate) in enumerate(MIGRATIONS, start=1):
            if number > applied:
                migrate(db)
                db["_migrations"].insert({"id": number, "name": name, "applied_at": utc_now()})
    except BaseException:
        backend.rollback()
        raise
    backend.commit()
