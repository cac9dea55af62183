"""Tables and edits for the tamper harness (``benchmarks/_tamper.py``, which re-exports them).

Not a benchmark itself.  :func:`enumerate_tables` reads every table, column and row of a registry at run
time, so tables added by later migrations join without anyone listing them.  :func:`cell_edit` and
:func:`swap_edit` turn a few integers into one concrete edit, as an attacker with sqlite3 would make it;
:func:`random_edits` (seeded) and :func:`first_row_edits` (every column once) choose them.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CELL_KINDS = ("other-row", "flip-char", "plus-one", "minus-one", "flip-byte", "null", "empty", "json-field")
SWAP_KINDS = ("swap-rows", "swap-cell")


@dataclass(frozen=True)
class TableInfo:
    """One table as found in the registry: its columns (primary key marked) and rows by rowid."""

    name: str
    columns: list[str]
    primary_key: list[str]
    rows: list[tuple[int, dict]]


def enumerate_tables(db_path: Path) -> list[TableInfo]:
    """Every table (bar SQLite's own), its columns and rows, read from ``sqlite_master`` at run time."""
    tables = []
    with closing(sqlite3.connect(db_path)) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                          "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]
        for name in names:
            info = db.execute(f'PRAGMA table_info("{name}")').fetchall()
            columns = [c[1] for c in info]
            pk = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5]]
            try:
                cursor = db.execute(f'SELECT rowid, * FROM "{name}" ORDER BY rowid')
            except sqlite3.OperationalError as exc:  # WITHOUT ROWID: rows would need their key instead
                raise NotImplementedError(f"table {name} has no rowid; extend the tamper harness") from exc
            rows = [(r[0], dict(zip(columns, r[1:]))) for r in cursor]
            tables.append(TableInfo(name, columns, pk, rows))
    return tables


@dataclass(frozen=True)
class Edit:
    """One concrete tampering: ``changes`` are (rowid, column, old, new)."""

    table: str
    kind: str
    changes: tuple[tuple[int, str, Any, Any], ...]
    detail: str = ""  # e.g. the JSON field changed, or the primary keys of the rows

    def describe(self) -> str:
        lines = [f"{self.kind} in {self.table}" + (f" ({self.detail})" if self.detail else "")]
        lines += [f"  rowid {rowid} {column}: {short(old)} -> {short(new)}" for rowid, column, old, new in self.changes[:6]]
        lines += [f"  and {len(self.changes) - 6} more cells"] if len(self.changes) > 6 else []
        return "\n".join(lines)


def _flip_char(text: str, position: int) -> str:
    c = text[position]
    if c in "0123456789abcdef":
        new = "0123456789abcdef"[(int(c, 16) + 1) % 16]
    elif c.isascii() and c.isalpha():
        base = ord("a") if c.islower() else ord("A")
        new = chr(base + (ord(c) - base + 1) % 26)
    else:
        new = "x" if c != "x" else "y"
    return text[:position] + new + text[position + 1:]


def _as_json(value: Any) -> Any:
    if isinstance(value, (str, bytes)) and value[:1] in ("{", "[", b"{", b"["):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return None


def _leaves(node: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(node, dict):
        for key in sorted(node):
            yield from _leaves(node[key], path + (key,))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _leaves(item, path + (i,))
    else:
        yield path


def _json_field_edit(value: str | bytes, param: int) -> tuple[Any, str] | None:
    """``value`` (JSON text or bytes) with one scalar changed, written back in its own style."""
    document = _as_json(value)
    paths = list(_leaves(document))
    if document is None or not paths or paths == [()]:
        return None
    path = paths[param % len(paths)]
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    old = parent[path[-1]]
    if isinstance(old, bool):
        new: Any = not old
    elif isinstance(old, (int, float)):
        new = old + 1
    elif isinstance(old, str) and old:
        new = _flip_char(old, (param // len(paths)) % len(old))
    else:
        new = "x"
    parent[path[-1]] = new
    text = value.decode() if isinstance(value, bytes) else value
    original = json.loads(text)
    for style in ({"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False}, {"sort_keys": True}, {}):
        if json.dumps(original, **style) == text:  # keep the cell's own serialisation (canonical or not)
            break
    written = json.dumps(document, **style)
    return (written.encode() if isinstance(value, bytes) else written), ".".join(map(str, path))


def applicable_kinds(value: Any) -> list[str]:
    """The single-cell edits that make sense for a cell holding ``value``."""
    if value is None:
        return ["other-row", "empty"]
    if isinstance(value, (int, float)):
        return ["other-row", "plus-one", "minus-one", "null"]
    kinds = ["other-row", "flip-char" if isinstance(value, str) else "flip-byte", "null", "empty"]
    return kinds + (["json-field"] if _as_json(value) is not None else [])


def cell_edit(table: TableInfo, row_index: int, column: str, kind: str, param: int = 0) -> Edit | None:
    """One cell of row ``row_index`` changed by ``kind`` (``param`` picks the position, field or other
    row); None when that kind does not apply or would change nothing."""
    rowid, row = table.rows[row_index % len(table.rows)]
    old = row[column]
    detail = ""
    if kind not in applicable_kinds(old):
        return None
    if kind == "other-row":
        others = sorted({r[column] for _, r in table.rows if r[column] != old and r[column] is not None}, key=repr)
        new = others[param % len(others)] if others else old
    elif kind in ("flip-char", "flip-byte"):
        if not old:
            return None
        position = param % len(old)
        # A flipped bit: the smallest change, and the hardest for a check to notice.
        new = _flip_char(old, position) if kind == "flip-char" else old[:position] + bytes([old[position] ^ 1]) + old[position + 1:]
        detail = f"position {position}"
    elif kind in ("plus-one", "minus-one"):
        new = old + (1 if kind == "plus-one" else -1)
    elif kind == "null":
        new = None
    elif kind == "empty":
        new = b"" if isinstance(old, bytes) else ""
    else:
        edited = _json_field_edit(old, param)
        if edited is None:
            return None
        new, detail = edited
    if new == old and type(new) is type(old):
        return None
    return Edit(table.name, kind, ((rowid, column, old, new),), "; ".join(x for x in (_key(table, row), detail) if x))


def swap_edit(table: TableInfo, first: int, second: int, column: str | None = None) -> Edit | None:
    """Swap two rows' values: every non-key column (``column`` None), or just ``column``."""
    if len(table.rows) < 2:
        return None
    (rid_a, a), (rid_b, b) = table.rows[first % len(table.rows)], table.rows[second % len(table.rows)]
    columns = [column] if column else [c for c in table.columns if c not in table.primary_key]
    changes = tuple(change for c in columns if a[c] != b[c] for change in ((rid_a, c, a[c], b[c]), (rid_b, c, b[c], a[c])))
    if rid_a == rid_b or not changes:
        return None
    return Edit(table.name, "swap-cell" if column else "swap-rows", changes,
                f"rowid {rid_a} ({_key(table, a)}) with rowid {rid_b} ({_key(table, b)})")


def _key(table: TableInfo, row: dict) -> str:
    return ", ".join(f"{k}={short(row[k], 20)}" for k in table.primary_key)


def random_edits(table: TableInfo, count: int, rng: random.Random, tries: int = 50) -> list[Edit]:
    """Up to ``count`` distinct edits of one table: 3 in 4 single cells, the rest swaps."""
    edits: dict[str, Edit] = {}
    for _ in range(count * tries):
        if len(edits) >= count or not table.rows:
            break
        if rng.random() < 0.75:
            edit = cell_edit(table, rng.randrange(len(table.rows)), rng.choice(table.columns),
                             rng.choice(CELL_KINDS), rng.randrange(1 << 16))
        else:
            edit = swap_edit(table, rng.randrange(len(table.rows)), rng.randrange(len(table.rows)),
                             rng.choice([None, *table.columns]))
        if edit is not None:
            edits.setdefault(edit.describe(), edit)
    return list(edits.values())


def first_row_edits(table: TableInfo, column: str | None = None, after: str | None = None) -> list[Edit]:
    """The first row's first applicable single-cell edit in every column (another row's value where there
    is one); or, given ``column``, every edit of that cell whose kind comes after ``after``."""
    if not table.rows:
        return []
    edits = []
    for name in [column] if column else table.columns:
        kinds = applicable_kinds(table.rows[0][1][name])
        kinds = kinds[kinds.index(after) + 1:] if after in kinds else kinds
        found = [e for e in (cell_edit(table, 0, name, kind) for kind in kinds) if e is not None]
        edits += found if column else found[:1]
    return edits


def short(value: Any, width: int = 90) -> str:
    """``repr(value)``, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."
