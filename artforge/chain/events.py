"""Chain events in the transparency log: deployments and mints, signed by the log key.

A deployment or a mint is a fact the registry observed (a receipt), not one a work's owner signed, so the
home's log key signs it as a record of its own type and the log holds it like any other signed record.
``show`` reads a contract's network and a work's tokens from these verified events, never from a row, and
``audit`` checks the ``chain_deployments`` and ``tokens`` rows against them, and back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artforge.provenance.records import RECORD_SCHEMA, utc_now
from artforge.registry import transparency_log as translog
from artforge.registry.backends import Database

if TYPE_CHECKING:
    from artforge.registry.database import Registry

MINT_TYPE = "mint"  # a mint, as the registry saw its receipt, signed by the log key (not by the work's owner)
DEPLOYMENT_TYPE = "deployment"  # a contract deployment as the registry recorded it, signed by the log key
MINT_FIELDS = ("chain_id", "contract", "token_id", "tx_hash", "block", "token_uri", "recipient", "royalty_receiver",
               "royalty_bps")
MINT_FIELDS_SINCE_V7 = ("record_id", "metadata_cid", "image_cid")  # signed too by mints after schema v7
DEPLOYMENT_FIELDS = ("chain_id", "address", "network", "deployer", "tx_hash", "block", "code_sha256")


def mint_payload(work_id: str, token: dict) -> dict:
    """The payload of a mint event: which work, which token on which chain, from which transaction."""
    fields = MINT_FIELDS + tuple(name for name in MINT_FIELDS_SINCE_V7 if name in token)
    return {"schema": RECORD_SCHEMA, "type": MINT_TYPE, "created_at": utc_now(), "work_id": work_id,
            "token": {name: token[name] for name in fields}}


def deployment_payload(deployment: dict) -> dict:
    """The payload of a deployment event: the contract, its chain and the network it is read from."""
    return {"schema": RECORD_SCHEMA, "type": DEPLOYMENT_TYPE, "created_at": utc_now(),
            "deployment": {name: deployment[name] for name in DEPLOYMENT_FIELDS}}


def chain_events(db: Database, kind: str, work_id: str | None = None) -> list[dict]:
    """The payloads of the log's mint or deployment events (of one work, for mints) whose signature by a
    recorded log key verifies, oldest first."""
    return translog.signed_events(db, kind, work_id)


def mint_logged(db: Database, work_id: str, chain_id: int, contract: str, token_id: int) -> bool:
    """Whether the log already holds the mint event of this token (signed or not: a second one would not help)."""
    for _index, leaf in translog.leaves(db, MINT_TYPE, work_id):
        token = leaf.payload["token"]
        if (token["chain_id"], token["contract"], token["token_id"]) == (chain_id, contract, token_id):
            return True
    return False


def audit_chain_events(registry: "Registry") -> list[str]:
    """Every mint and deployment leaf is signed by a recorded log key; every minted token's row and every
    deployment row says what its event says, and back."""
    from artforge.chain import store

    db = registry.db
    problems = []
    keys = translog.log_keys(db)
    mints: dict[tuple, tuple[int, dict]] = {}
    deployments: dict[tuple, tuple[int, dict]] = {}
    for kind in (MINT_TYPE, DEPLOYMENT_TYPE):
        for index, record in translog.leaves(db, kind, unreadable=True):
            try:
                if record is None:
                    raise ValueError(index)
                if kind == MINT_TYPE:
                    token = record.payload["token"]
                    mints[(token["chain_id"], token["contract"], record.payload["work_id"], token["token_id"])] = (
                        index, token)
                else:
                    event = record.payload["deployment"]
                    deployments[(event["chain_id"], event["address"])] = (index, event)
            except (ValueError, KeyError, TypeError):
                problems.append(f"log leaf {index}: an unreadable {kind} event")
                continue
            if not translog.signed_by_log_key(record, keys):
                problems.append(f"log leaf {index}: a {kind} event not signed by the log key")
    for row in store.table_rows(registry, "tokens", "status = 'minted'"):
        chain_id, work_id, token_id = row["chain_id"], row["work_id"], row["token_id"]
        found = mints.pop((chain_id, row["contract"], work_id, token_id), None)
        where = f"token {token_id} of work {str(work_id)[:12]} on chain {chain_id}"
        if found is None:
            problems.append(f"{where} is not in the log")
        elif any(row[name] != value for name, value in found[1].items()) or \
                row["token_uri"] != f"ipfs://{row['metadata_cid']}":
            problems.append(f"{where}: its row differs from its mint event (log leaf {found[0]})")
    for (chain_id, _contract, work_id, token_id), (index, _token) in mints.items():
        problems.append(f"log leaf {index}: mint of token {token_id} (work {work_id[:12]}, chain {chain_id}) "
                        f"is not in the tokens table")
    for row in store.table_rows(registry, "chain_deployments"):
        found = deployments.pop((row["chain_id"], row["address"]), None)
        where = f"deployment {row['address']} on chain {row['chain_id']}"
        if found is None:
            problems.append(f"{where} is not in the log")
        elif any(row[name] != value for name, value in found[1].items()):
            problems.append(f"{where}: its row differs from its deployment event (log leaf {found[0]})")
    for (chain_id, address), (index, _event) in deployments.items():
        problems.append(f"log leaf {index}: deployment {address} on chain {chain_id} is not in the registry")
    return problems
