"""Making a registry look as an older artforge left it, to test the migrations that bring it up to date."""

from __future__ import annotations

# The tables each migration creates (migrations.MIGRATIONS, numbered from 1); the others only add columns.
TABLES_ADDED = {
    2: ("match_layers",),
    5: ("tokens", "chain_deployments"),
    6: ("log_leaves", "log_nodes", "log_keys", "log_checkpoints"),
    7: ("claims",),
}


def rewind_schema(db, version: int) -> None:
    """Drop what migrations after ``version`` created and forget them, inside the caller's transaction."""
    for number, tables in TABLES_ADDED.items():
        if number > version:
            for table in tables:
                db.execute(f"DROP TABLE {table}")
    db.execute("DELETE FROM _migrations WHERE id > ?", [version])
