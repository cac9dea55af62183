"""The registry: works, fingerprints, signed records, licences, grants, transfers (SQLite or PostgreSQL).

By default one SQLite file, readable as is with ``sqlite-utils`` and Datasette; a ``postgresql://`` URL
opens a shared registry instead (:mod:`artforge.registry.postgres_backend`: same tables, same SQL).
Opening applies the ordered migrations (recorded in ``_migrations``).  Every write a command makes happens
inside one :meth:`Registry.transaction`, which holds the one writer lock, so a failure leaves the registry
as it was and the log grows by one writer at a time.

The signed records are the source of truth; the other tables are indexes over them that ``artforge
audit`` cross-checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from artforge.errors import AccessDenied, Conflict, NotFound, RegistryError, UnknownLicence, UsageError
from artforge.provenance.fingerprints import Fingerprint
from artforge.provenance.keys import Signer, key_id_for
from artforge.provenance.records import SignedRecord, sign_payload
from artforge.registry import claims, roles
from artforge.registry import transparency_log as translog
from artforge.registry.licence_catalogue import Licence
from artforge.registry.migrations import bring_up_to_date, licence_row
from artforge.registry.postgres_backend import PostgresBackend, display_url, is_database_url
from artforge.registry.rows import GrantRow, WorkRow
from artforge.registry.sqlite_backend import SqliteBackend

MIN_ID_PREFIX = 6


# The tables this module owns (the claims, log, matching and chain tables have modules of their own).
OWN_TABLES = ("works", "fingerprints", "records", "grants", "transfers", "licences", "identities")


def _own_table(table: str) -> str:
    if table not in OWN_TABLES:
        raise ValueError(f"{table} is not one of the registry's own tables")
    return table


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def describe_location(location: Path | str) -> str:
    """A registry's file, or its database URL without the password: what messages and ``home`` show."""
    return display_url(location) if is_database_url(location) else str(location)


class Registry:
    """An open registry (an SQLite file or a PostgreSQL database).  Use ``with Registry.open(location) as registry:``."""

    def __init__(self, backend: SqliteBackend | PostgresBackend, path: Path):
        self.backend = backend
        self.db = backend.db
        self.where = backend.where  # the file, or the database URL without its password: for messages
        # The file, or for PostgreSQL a name in the caller's local folder: files kept for this registry
        # on this machine (the match index snapshot) are named after it.
        self.path = path
        # Signs a log checkpoint when a transaction that appended records commits (set by Home.registry;
        # without it, or when it gives None, the records are still logged, and the next checkpoint covers them).
        self.log_signer: Callable[[], Signer | None] | None = None
        self._log_grew = False

    # -- lifecycle -----------------------------------------------------------------------------------
    @classmethod
    def open(cls, location: Path | str, *, create: bool = False, local_dir: Path | None = None) -> "Registry":
        """Open (and with ``create``, create) the registry, applying pending migrations.

        ``location`` is an SQLite file or a ``postgresql://`` URL (whose database must exist; an empty one
        is given the schema when ``create`` is set).  ``local_dir`` holds this machine's files for a
        PostgreSQL registry (the match index snapshot); an SQLite registry keeps them beside its file.
        """
        if is_database_url(location):
            backend: SqliteBackend | PostgresBackend = PostgresBackend(str(location))
            digest = hashlib.sha256(backend.where.encode()).hexdigest()[:16]
            path = (local_dir or Path.home() / ".cache" / "artforge") / f"postgresql-{digest}"
        else:
            path = Path(location)
            if not create and not path.exists():
                raise RegistryError(f"no registry at {path}: run 'artforge init' first")
            backend = SqliteBackend(path)
        registry = cls(backend, path)
        try:
            bring_up_to_date(backend, registry.where, create)
            backend.tune()
        except backend.error as exc:
            backend.close()
            raise backend.translate(exc) from None
        except BaseException:
            backend.close()
            raise
        return registry

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator["Registry"]:
        """All writes inside commit together or not at all.

        The outermost level takes the write lock up front (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory
        lock), so reads inside it, such as a chain's head or the log's size, cannot go stale before the
        write; nested levels are savepoints.
        """
        backend = self.backend
        try:
            if backend.in_transaction:
                with self.db.atomic():
                    yield self
                return
            backend.begin_write()
            self._log_grew = False
            try:
                yield self
                signer = self.log_signer() if self._log_grew and self.log_signer is not None else None
                if signer is not None:
                    translog.write_checkpoint(self.db, signer)  # commits with the records, or neither
            except AccessDenied as refused:
                backend.rollback()
                self._keep_denial(refused)
                raise
            except BaseException:
                backend.rollback()
                raise
            finally:
                self._log_grew = False
            backend.commit()
        except backend.error as exc:
            backend.rollback()
            raise backend.translate(exc) from None

    def _keep_denial(self, refused: AccessDenied) -> None:
        # In a transaction of its own, after the refused one rolled back; a failure here must not hide the refusal.
        try:
            self.backend.begin_write()
            roles.record_denial(self.db, refused.key_id, refused.action, refused.target, str(refused))
            self.backend.commit()
        except self.backend.error:
            self.backend.rollback()

    def schema_version(self) -> int:
        return self.db.execute("SELECT MAX(id) FROM _migrations").fetchone()[0]

    # -- identities and licences (signed claims; see artforge.registry.claims) ---------------------------------
    def remember_identity(self, key_id: str, public_key: str, seen_at: str) -> None:
        """Record a public key (idempotent).  Its name comes only from a claim the key signs (:meth:`add_claim`)."""
        self.db["identities"].insert({"key_id": key_id, "public_key": public_key, "name": None,
                                      "first_seen": seen_at}, ignore=True)

    def identity(self, key_id: str) -> dict | None:
        rows = list(self.db["identities"].rows_where("key_id = ?", [key_id]))
        return rows[0] if rows else None

    def public_key_of(self, key_id: str) -> bytes | None:
        """The public key the registry holds for ``key_id``, only if it is the key that id names."""
        row = self.identity(key_id)
        try:
            public = bytes.fromhex(row["public_key"]) if row else None
        except (TypeError, ValueError):
            return None
        return public if public is not None and key_id_for(public) == key_id else None

    def add_claim(self, record: SignedRecord) -> None:
        """Store and log a signed claim; an identity claim also names the key in ``identities``."""
        claims.store_claim(self.db, record)
        self._log_grew = True
        if record.record_type == "identity":
            signer = record.payload["signer"]
            self.remember_identity(signer["key_id"], signer["public_key"], record.payload["created_at"])
            self.db["identities"].update(signer["key_id"], {"name": record.payload["identity"]["name"]})

    def name_identity(self, signer: Signer, name: str | None) -> None:
        """Have a key sign its own name, once (inside a transaction): the first time a key signs anything
        here, or when it is created."""
        if name and claims.identity_name(self.db, signer.key_id) is None:
            self.add_claim(sign_payload(claims.identity_payload(signer.key_id, name), signer))

    def identity_name(self, key_id: str) -> claims.SignedName | None:
        """The name a key signed for itself, or None."""
        return claims.identity_name(self.db, key_id)

    def licence(self, licence_id: str) -> Licence:
        """A licence by exact id, as its signer defined it; :class:`~artforge.errors.UnknownLicence` when unknown.

        Built-in licences come from the package's catalogue, custom ones from their signed claim; the
        ``licences`` table is only a cache of both (a custom licence stored before claims is returned with
        ``unsigned`` set).
        """
        if not _is_unicode(licence_id):  # undecodable bytes from argv (surrogateescape): no licence has them
            raise UnknownLicence(f"unknown licence {licence_id!r} (see 'artforge license list')")
        rows = list(self.db["licences"].rows_where("id = ?", [licence_id]))
        found = claims.resolve_licence(self.db, licence_id, rows[0] if rows else None)
        if found is None:
            raise UnknownLicence(f"unknown licence {licence_id!r} (see 'artforge license list')")
        return found

    def licences(self) -> list[Licence]:
        """Every licence the catalogue or a claim defines (a row that neither does is left out: audit names it)."""
        rows = {row["id"]: row for row in self.db["licences"].rows_where(order_by="builtin DESC, id")}
        found = (claims.resolve_licence(self.db, licence_id, row) for licence_id, row in rows.items()
                 if isinstance(licence_id, str))
        return [licence for licence in found if licence is not None]

    def add_licence(self, licence: Licence, claim: SignedRecord) -> None:
        """Store a custom licence with the claim that defines it (signed by the key that adds it)."""
        if list(self.db["licences"].rows_where("id = ?", [licence.id])):
            raise Conflict(f"licence {licence.id} already exists")
        self.db["licences"].insert(licence_row(licence))
        self.add_claim(claim)

    # -- works and records ---------------------------------------------------------------------------
    def works_with_pixels(self, pixel_sha256: str) -> list[WorkRow]:
        return [WorkRow.from_row(r) for r in self.db["works"].rows_where("pixel_sha256 = ?", [pixel_sha256])]

    def works_with_file(self, file_sha256: str) -> list[WorkRow]:
        return [WorkRow.from_row(r) for r in self.db["works"].rows_where("file_sha256 = ?", [file_sha256])]

    def work(self, work_id: str) -> WorkRow:
        rows = list(self.db["works"].rows_where("id = ?", [work_id]))
        if not rows:
            raise NotFound(f"no work {work_id[:12]}")
        return WorkRow.from_row(rows[0])

    def _match_records(self, reference: str, logged: bool = False) -> list[tuple[str, str]]:
        ref = reference.strip().lower()
        if len(ref) < MIN_ID_PREFIX or any(c not in "0123456789abcdef" for c in ref):
            raise UsageError(f"{reference!r} is not a work or record id (give at least {MIN_ID_PREFIX} hex characters)")
        if logged:
            rows = translog.ids_with_prefix(self.db, ref)
        else:  # a prefix search on a unique index: ids are lower-case hex, so [ref, ref + "g") is the range
            rows = self.db.execute("SELECT id, work_id FROM records WHERE id >= ? AND id < ? LIMIT 2",
                                   [ref, ref + "g"]).fetchall()
        if not rows:
            raise NotFound(f"no work or record matches {reference!r}")
        return rows

    def resolve_record(self, reference: str, logged: bool = False) -> str:
        """The full id of the record whose id is or starts with ``reference`` (with ``logged``: of any leaf of
        the log, claims and mint events too)."""
        rows = self._match_records(reference, logged)
        if len(rows) > 1:
            raise UsageError(f"{reference!r} is ambiguous: give more characters")
        return rows[0][0]

    def resolve_work_id(self, reference: str) -> str:
        """The id of the work named by its id, an id prefix (at least 6 hex chars) or the id (prefix) of any
        of its records, found among the signed records (the works row is not needed)."""
        rows = self._match_records(reference)
        if len({work_id for _, work_id in rows}) > 1:
            raise UsageError(f"{reference!r} is ambiguous: give more characters")
        return rows[0][1]

    def resolve_work(self, reference: str) -> WorkRow:
        """A work's row by id, id prefix (at least 6 hex chars) or the id (prefix) of any of its records."""
        return self.work(self.resolve_work_id(reference))

    def works(self, limit: int | None = None, offset: int = 0) -> list[WorkRow]:
        return [WorkRow.from_row(r) for r in self.db["works"].rows_where(order_by="rowid",
                                                                         limit=limit, offset=offset)]

    def count_works(self) -> int:
        return self.db["works"].count

    def records(self, work_id: str) -> list[SignedRecord]:
        """A work's records in chain order."""
        rows = self.db.execute(
            "SELECT payload, signature FROM records WHERE work_id = ? ORDER BY seq", [work_id]
        ).fetchall()
        return [SignedRecord(payload=json.loads(payload), signature=signature) for payload, signature in rows]

    def record_rows(self) -> Iterator[dict]:
        """Every stored record row, by work and sequence (for audit)."""
        yield from self.db["records"].rows_where(order_by="work_id, seq")

    # -- rows as stored, for the comparisons audit and facts make against the signed records -------------
    def stored_rows(self, table: str, work_id: str | None = None, order_by: str | None = None) -> list[dict]:
        """The rows of one of the registry's tables (of one work when given), every column as stored."""
        where, args = ("work_id = ?", [work_id]) if work_id is not None else (None, None)
        return list(self.db[_own_table(table)].rows_where(where, args, order_by=order_by))

    def column_values(self, table: str, column: str) -> Iterator:
        """One column of every row of one of the registry's tables."""
        if column not in self.db[_own_table(table)].columns_dict:
            raise ValueError(f"{table} has no column {column}")
        yield from (row[0] for row in self.db.execute(f"SELECT {column} FROM {table}"))

    def insert_work(self, record: SignedRecord, fingerprint: Fingerprint, *, title: str, licence_id: str,
                    origin: dict, parents: list[str]) -> WorkRow:
        """Index a new work from its signed registration record."""
        work_id = record.record_id
        payload = record.payload
        self.db["works"].insert({
            "id": work_id, "title": title, "pixel_sha256": fingerprint.pixel_sha256,
            "file_sha256": fingerprint.file_sha256, "width": fingerprint.width, "height": fingerprint.height,
            "creator_key_id": record.signer_key_id, "owner_key_id": record.signer_key_id,
            "licence_id": licence_id, "origin": json.dumps(origin, sort_keys=True),
            "parents": json.dumps(parents), "created_at": payload["created_at"], "head_record_id": work_id,
            "record_count": 0,
        })
        self.db["fingerprints"].insert({"work_id": work_id, **fingerprint.to_dict()})
        self.append_record(work_id, record)
        return self.work(work_id)

    def append_record(self, work_id: str, record: SignedRecord) -> None:
        """Store a signed record at the head of a work's chain."""
        seq = self.db.execute("SELECT COUNT(*) FROM records WHERE work_id = ?", [work_id]).fetchone()[0]
        self.db["records"].insert({
            "id": record.record_id, "work_id": work_id, "seq": seq, "type": record.record_type,
            "prev_id": record.prev, "signer_key_id": record.signer_key_id,
            "created_at": record.payload.get("created_at"),
            "payload": record.canonical.decode(), "signature": record.signature,
        })
        self.db["works"].update(work_id, {"head_record_id": record.record_id, "record_count": seq + 1})
        self.log_record(record, work_id)

    def log_record(self, record: SignedRecord, work_id: str) -> int:
        """Append a signed record (a work's record, or an event the log key signed) to the transparency log
        (inside a transaction); returns its leaf index.

        An event identical to one already logged (a dev chain reset and the same deployment or mint made
        again within the second) is the same fact: its leaf is returned, not appended twice.
        """
        logged = translog.leaf_index(self.db, record.record_id)
        if logged is not None:
            return logged
        index = translog.append(self.db, record, work_id)
        self._log_grew = True
        return index

    def add_grant(self, record: SignedRecord) -> None:
        grant = record.payload["grant"]
        self.db["grants"].insert({
            "record_id": record.record_id, "work_id": record.payload["work_id"], "grantee": grant["to"],
            "terms": grant["terms"], "until": grant["until"], "granted_by": record.signer_key_id,
            "created_at": record.payload["created_at"],
        })

    def add_transfer(self, record: SignedRecord, from_key_id: str) -> None:
        to_key_id = record.payload["transfer"]["to"]["key_id"]
        self.db["transfers"].insert({
            "record_id": record.record_id, "work_id": record.payload["work_id"], "from_key_id": from_key_id,
            "to_key_id": to_key_id, "created_at": record.payload["created_at"],
        })
        self.db["works"].update(record.payload["work_id"], {"owner_key_id": to_key_id})

    def grants(self, work_id: str) -> list[GrantRow]:
        return [GrantRow(**row) for row in self.db["grants"].rows_where("work_id = ?", [work_id],
                                                                          order_by="created_at")]

    def hash_columns(self, *columns: str) -> Iterator[tuple]:
        """``(work_id, *columns)`` for every stored fingerprint: a lean scan for matchers."""
        allowed = set(Fingerprint.__dataclass_fields__)
        if not set(columns) <= allowed:
            raise ValueError(f"unknown fingerprint columns: {sorted(set(columns) - allowed)}")
        yield from self.db.execute(f"SELECT work_id, {', '.join(columns)} FROM fingerprints")

    def fingerprint(self, work_id: str) -> Fingerprint:
        rows = list(self.db["fingerprints"].rows_where("work_id = ?", [work_id]))
        if not rows:
            raise NotFound(f"no fingerprint for work {work_id[:12]}")
        return Fingerprint.from_dict(rows[0])
