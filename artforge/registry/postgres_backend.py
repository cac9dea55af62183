"""PostgreSQL as the registry's second backend (psycopg 3): the same tables, migrations and SQL as SQLite.

The registry's modules speak to their tables through the small part of sqlite-utils' API they use
(``db[table].insert``, ``rows_where``, ``upsert``, ``create`` ... and ``db.execute`` with ``?`` placeholders).
:class:`PgDatabase` gives that same part over one PostgreSQL connection, so one set of SQL and one set of
migrations serve both backends.  What PostgreSQL needs beyond that:

* ``rowid``: every table gets an identity column of that name (SQLite's implicit rowid), so "oldest first"
  and "rows after this one" read the same on both.  Writers are serialised (below), so ids are handed out
  in commit order: a reader that polls ``rowid > newest`` never skips a row that committed late.
* one writer at a time: every write transaction takes one advisory lock before anything else (SQLite's
  ``BEGIN IMMEDIATE``), so the transparency log stays append-only and gap-free with writers on several
  machines, and a chain's head read inside the transaction cannot go stale before the write.
* text columns use the "C" collation, so id-prefix ranges (``id >= 'ab12' AND id < 'ab12g'``) hold in any
  database locale.

A URL may carry a password: it is never shown; :func:`display_url` is what messages print.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from artforge.errors import RegistryError

# The advisory lock every write transaction holds: one 64-bit key, the same for every artforge client.
WRITE_LOCK_KEY = 0x61727466_6F726765  # "artforge"
CONNECT_TIMEOUT_S = 10

_COLUMN_TYPES = {str: 'TEXT COLLATE "C"', int: "BIGINT", bytes: "BYTEA", float: "DOUBLE PRECISION"}
_PYTHON_TYPES = {"text": str, "bigint": int, "bytea": bytes, "double precision": float, "integer": int}


def is_database_url(location: object) -> bool:
    """Whether a registry location names a PostgreSQL database rather than an SQLite file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def _url_parts(url: str) -> dict[str, str]:
    """user, password, host, port and dbname of a ``postgresql://`` URL (``host``/``port``/``password`` may
    also come as query options, as libpq allows); ValueError when it cannot be read."""
    parts = urlsplit(url)
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    port = parts.port  # raises ValueError for a port that is not a number
    found = {"user": unquote(parts.username or "") or options.get("user", ""),
             "password": unquote(parts.password or "") or options.get("password", ""),
             "host": unquote(parts.hostname or "") or options.get("host", ""),
             "port": str(port) if port else options.get("port", ""),
             "dbname": unquote(parts.path.lstrip("/")) or options.get("dbname", "")}
    return found


def display_url(url: str) -> str:
    """``postgresql://user@host:port/dbname``: the URL without its password or options, for messages."""
    try:
        parts = _url_parts(url)
    except ValueError:
        return "postgresql://(unreadable URL)"  # never echoed: it may hold a password
    user = f"{parts['user']}@" if parts["user"] else ""
    host, port, dbname = parts["host"], parts["port"], parts["dbname"]
    if host.startswith("/"):  # a Unix socket folder
        return f"postgresql://{user}/{dbname}?host={host}" + (f"&port={port}" if port else "")
    return f"postgresql://{user}{host}{':' + port if port else ''}/{dbname}"


def carries_password(url: str) -> bool:
    """Whether a URL holds a password (or cannot be read, and so might): such a URL is not stored in a home."""
    try:
        return bool(_url_parts(url)["password"])
    except ValueError:
        return True


_QUOTED_URL = re.compile(r"postgres(?:ql)?://[^\s\"']*", re.IGNORECASE)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _placeholders(sql: str) -> str:
    """sqlite3's ``?`` placeholders as psycopg's ``%s`` (a literal ``%`` doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _value(value: Any) -> Any:
    # As sqlite-utils stores them: booleans as 0/1, dicts and lists as JSON text.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    return value


class PgTable:
    """One table, with the methods of ``sqlite_utils.db.Table`` the registry uses."""

    def __init__(self, db: "PgDatabase", name: str):
        self.db = db
        self.name = name

    # -- schema ------------------------------------------------------------------------------------
    def create(self, columns: dict[str, type], pk: str | tuple[str, ...], not_null: Iterable[str] = (),
               foreign_keys: Iterable[tuple[str, str, str]] = ()) -> "PgTable":
        keys = (pk,) if isinstance(pk, str) else tuple(pk)
        required = set(not_null) | set(keys)
        parts = [f"{_ident(name)} {_COLUMN_TYPES[kind]}{' NOT NULL' if name in required else ''}"
                 for name, kind in columns.items()]
        parts.append('"rowid" BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE')
        parts.append(f"PRIMARY KEY ({', '.join(map(_ident, keys))})")
        parts += [f"FOREIGN KEY ({_ident(column)}) REFERENCES {_ident(table)} ({_ident(other)})"
                  for column, table, other in foreign_keys]
        self.db.execute(f"CREATE TABLE {_ident(self.name)} ({', '.join(parts)})")
        self.db.columns.pop((self.db.where, self.name), None)
        return self

    def create_index(self, columns: list[str], unique: bool = False) -> None:
        name = _ident(f"idx_{self.name}_{'_'.join(columns)}")
        self.db.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON {_ident(self.name)} "
                        f"({', '.join(map(_ident, columns))})")

    def add_column(self, name: str, kind: type) -> None:
        self.db.execute(f"ALTER TABLE {_ident(self.name)} ADD COLUMN {_ident(name)} {_COLUMN_TYPES[kind]}")
        self.db.columns.pop((self.db.where, self.name), None)

    @property
    def columns_dict(self) -> dict[str, type]:
        """Column name -> Python type, without ``rowid``; read once per connection (migrations reset it)."""
        cached = self.db.columns.get((self.db.where, self.name))
        if cached is not None:
            return cached
        rows = self.db.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND column_name <> 'rowid' ORDER BY ordinal_position", [self.name]).fetchall()
        found = {name: _PYTHON_TYPES.get(kind, str) for name, kind in rows}
        if found:
            self.db.columns[(self.db.where, self.name)] = found
        return found

    @property
    def pks(self) -> list[str]:
        return self.db.primary_key(self.name)

    # -- rows --------------------------------------------------------------------------------------
    def insert(self, row: dict, ignore: bool = False, replace: bool = False) -> "PgTable":
        self._insert(row, "DO NOTHING" if ignore else ("update" if replace else None))
        return self

    def insert_all(self, rows: Iterable[dict]) -> "PgTable":
        for row in rows:
            self._insert(row, None)
        return self

    def upsert(self, row: dict, pk: str | tuple[str, ...]) -> "PgTable":
        self._insert(row, "update", (pk,) if isinstance(pk, str) else tuple(pk))
        return self

    def _insert(self, row: dict, on_conflict: str | None, keys: tuple[str, ...] | None = None) -> None:
        names = list(row)
        sql = (f"INSERT INTO {_ident(self.name)} ({', '.join(map(_ident, names))}) "
               f"VALUES ({', '.join('?' * len(names))})")
        if on_conflict == "DO NOTHING":
            sql += " ON CONFLICT DO NOTHING"
        elif on_conflict == "update":
            keys = keys or tuple(self.pks)
            changed = [name for name in names if name not in keys]
            action = (f"DO UPDATE SET {', '.join(f'{_ident(c)} = EXCLUDED.{_ident(c)}' for c in changed)}"
                      if changed else "DO NOTHING")
            sql += f" ON CONFLICT ({', '.join(map(_ident, keys))}) {action}"
        self.db.execute(sql, [_value(row[name]) for name in names])

    def _pk_where(self, pk_values: Any) -> tuple[str, list]:
        values = list(pk_values) if isinstance(pk_values, (tuple, list)) else [pk_values]
        keys = self.pks
        if len(keys) != len(values):
            raise ValueError(f"{self.name} has a primary key of {len(keys)} columns")
        return " AND ".join(f"{_ident(k)} = ?" for k in keys), values

    def update(self, pk_values: Any, updates: dict) -> "PgTable":
        where, args = self._pk_where(pk_values)
        sets = ", ".join(f"{_ident(name)} = ?" for name in updates)
        self.db.execute(f"UPDATE {_ident(self.name)} SET {sets} WHERE {where}",
                        [_value(v) for v in updates.values()] + args)
        return self

    def delete(self, pk_values: Any) -> "PgTable":
        where, args = self._pk_where(pk_values)
        self.db.execute(f"DELETE FROM {_ident(self.name)} WHERE {where}", args)
        return self

    def rows_where(self, where: str | None = None, where_args: list | None = None, order_by: str | None = None,
                   limit: int | None = None, offset: int | None = None) -> Iterator[dict]:
        names = list(self.columns_dict)
        sql = f"SELECT {', '.join(map(_ident, names))} FROM {_ident(self.name)}"
        if where:
            sql += f" WHERE {where}"
        if order_by:
            sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        if offset:
            sql += f" OFFSET {int(offset)}"
        for row in self.db.execute(sql, where_args or []).fetchall():
            yield dict(zip(names, row))

    @property
    def count(self) -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM {_ident(self.name)}").fetchone()[0])


class PgDatabase:
    """One PostgreSQL connection with the methods of ``sqlite_utils.Database`` the registry uses."""

    # (database, table) -> columns, shared by this process's connections: only a migration changes them, and
    # it clears what it changes (a schema another artforge version migrated is refused on opening).
    columns: dict[tuple[str, str], dict[str, type]] = {}

    def __init__(self, conn: Any, where: str):
        self.conn = conn
        self.where = where
        self._primary_keys: dict[str, list[str]] = {}
        self._savepoints = 0  # names nested savepoints on this connection

    def __getitem__(self, table: str) -> PgTable:
        return PgTable(self, table)

    def execute(self, sql: str, args: Iterable | None = None) -> Any:
        """Run one statement with ``?`` placeholders; returns the cursor (``fetchone``, ``fetchall``, iterate)."""
        return self.conn.execute(_placeholders(sql), list(args) if args is not None else None)

    def table_names(self) -> list[str]:
        rows = self.execute("SELECT table_name FROM information_schema.tables "
                            "WHERE table_schema = current_schema() ORDER BY table_name").fetchall()
        return [row[0] for row in rows]

    def primary_key(self, table: str) -> list[str]:
        if table not in self._primary_keys:
            rows = self.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = ?::regclass AND i.indisprimary "
                "ORDER BY array_position(i.indkey, a.attnum)", [_ident(table)]).fetchall()
            self._primary_keys[table] = [row[0] for row in rows]
        return self._primary_keys[table]

    @contextmanager
    def atomic(self) -> Iterator["PgDatabase"]:
        """A savepoint inside the open transaction (the registry opens the outermost one itself)."""
        if not in_transaction(self.conn):
            raise RegistryError("internal: a savepoint needs an open transaction")
        self._savepoints += 1
        name = f"sp_{self._savepoints}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield self
        except BaseException:
            if in_transaction(self.conn):
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self.conn.execute(f"RELEASE SAVEPOINT {name}")


def in_transaction(conn: Any) -> bool:
    from psycopg.pq import TransactionStatus

    return conn.info.transaction_status != TransactionStatus.IDLE


# Idle connections, oldest first, by (process, URL): a forked child never reuses its parent's, and at most
# MAX_IDLE stay open in all (a process that opens many databases, as the tests do, closes the oldest).
_IDLE: list[tuple[tuple[int, str], Any]] = []
_IDLE_LOCK = threading.Lock()
MAX_IDLE = 4


def _take_idle(key: tuple[int, str]) -> Any | None:
    with _IDLE_LOCK:
        for position in range(len(_IDLE) - 1, -1, -1):
            if _IDLE[position][0] == key:
                conn = _IDLE.pop(position)[1]
                if not conn.closed and not conn.broken:
                    return conn
    return None


def _keep_idle(key: tuple[int, str], conn: Any) -> None:
    with _IDLE_LOCK:
        _IDLE.append((key, conn))
        evicted = _IDLE.pop(0)[1] if len(_IDLE) > MAX_IDLE else None
    if evicted is not None:
        evicted.close()


class PostgresBackend:
    """The registry's connection to a PostgreSQL database: opening, the write lock, errors."""

    kind = "postgresql"

    def __init__(self, url: str):
        self.where = display_url(url)
        try:
            self._password = _url_parts(url)["password"]
        except ValueError:
            self._password = ""
        try:
            import psycopg  # imported here: an SQLite home never pays for it
        except ImportError:
            raise RegistryError(f"{self.where}: a PostgreSQL registry needs psycopg: pip install "
                                "'artforge[postgres]'") from None
        self.error: type[Exception] = psycopg.Error
        self._pool_key = (os.getpid(), url)
        conn = _take_idle(self._pool_key)
        if conn is None:
            try:
                conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                       application_name="artforge")
            except psycopg.Error as exc:
                raise self.translate(exc) from None
        self.db = PgDatabase(conn, self.where)

    def tune(self) -> None:
        """Nothing to set per connection (SQLite sets WAL here)."""

    @property
    def in_transaction(self) -> bool:
        return in_transaction(self.db.conn)

    def begin_write(self) -> None:
        """Open a write transaction holding the one writer lock (released by COMMIT or ROLLBACK)."""
        self.db.conn.execute("BEGIN")
        self.db.conn.execute("SELECT pg_advisory_xact_lock(%s)", [WRITE_LOCK_KEY])

    def commit(self) -> None:
        self.db.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.db.conn.execute("ROLLBACK")

    def close(self) -> None:
        """Keep the connection for this process's next opening of the same database (a verify opens the
        registry twice; connecting costs more than the queries), or close it."""
        conn = self.db.conn
        if conn.closed or conn.broken or in_transaction(conn):
            conn.close()
        else:
            _keep_idle(self._pool_key, conn)

    def translate(self, exc: Exception) -> RegistryError:
        """One line naming the database (never its password) and what PostgreSQL said, with any URL or password
        psycopg quoted taken out (it quotes a URL it cannot parse whole)."""
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        first = _QUOTED_URL.sub("(the URL, not shown)", first)
        if self._password:
            first = first.replace(self._password, "(not shown)")
        if "connection" in first and ("failed" in first or "refused" in first):
            return RegistryError(f"{self.where}: cannot connect to the PostgreSQL registry ({first})")
        return RegistryError(f"{self.where}: registry error ({first})")
