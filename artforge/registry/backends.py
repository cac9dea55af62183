"""The type the registry's modules are handed: sqlite-utils' ``Database`` or its PostgreSQL counterpart.

Both offer the same small API (``db[table].insert``, ``rows_where``, ``db.execute`` with ``?`` placeholders
...), so the modules that own tables write their SQL once (see :mod:`artforge.registry.postgres_backend`).
"""

from __future__ import annotations

from typing import Union

import sqlite_utils

from artforge.registry.postgres_backend import PgDatabase

Database = Union[sqlite_utils.Database, PgDatabase]  # noqa: UP007 - a runtime alias, spelled for 3.11 tools
