"""The registry's chain tables: where the contract is deployed, and which works have tokens.

Rows are written inside the caller's :meth:`~artforge.registry.database.Registry.transaction`.  A token row is
``pending`` from just before its transaction is sent until the receipt makes it ``minted`` or ``failed``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from artforge.chain import events
from artforge.provenance.records import sign_payload
from artforge.registry.database import Registry

PENDING, MINTED, FAILED = "pending", "minted", "failed"


@dataclass(frozen=True)
class Deployment:
    """The artforge contract on one chain, as recorded by ``artforge chain deploy``."""

    chain_id: int
    address: str
    network: str  # "local" or "rpc"
    deployer: str
    tx_hash: str
    block: int
    code_sha256: str
    created_at: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TokenRow:
    """A work's token on one contract (or the attempt to mint it)."""

    chain_id: int
    contract: str
    record_id: str
    work_id: str
    token_id: int | None
    recipient: str
    royalty_receiver: str
    royalty_bps: int
    token_uri: str
    metadata_cid: str
    image_cid: str
    tx_hash: str | None
    block: int | None
    status: str
    error: str | None
    created_at: str
    updated_at: str

    def to_dict(self) -> dict:
        return asdict(self)


def record_deployment(registry: Registry, deployment: Deployment) -> None:
    """Record a deployment, and log it as an event signed by the log key (inside the caller's transaction):
    ``show`` reads a contract's network from that event, and ``audit`` checks the row against it."""
    registry.db["chain_deployments"].insert(deployment.to_dict(), replace=True)
    signer = registry.log_signer() if registry.log_signer is not None else None
    if signer is not None:
        event = sign_payload(events.deployment_payload(deployment.to_dict()), signer)
        registry.log_record(event, "")


def deployments(registry: Registry, chain_id: int | None = None) -> list[Deployment]:
    """Recorded deployments, newest first (of one chain id when given)."""
    where, args = ("chain_id = ?", [chain_id]) if chain_id is not None else (None, None)
    rows = registry.db["chain_deployments"].rows_where(where, args, order_by="created_at DESC, rowid DESC")
    return [Deployment(**row) for row in rows]


def token(registry: Registry, chain_id: int, contract: str, record_id: str) -> TokenRow | None:
    rows = list(registry.db["tokens"].rows_where("chain_id = ? AND contract = ? AND record_id = ?",
                                                 [chain_id, contract, record_id]))
    return TokenRow(**rows[0]) if rows else None


def tokens_of_work(registry: Registry, work_id: str) -> list[TokenRow]:
    """A work's token rows, oldest first."""
    rows = registry.db["tokens"].rows_where("work_id = ?", [work_id], order_by="created_at, rowid")
    return [TokenRow(**row) for row in rows]


def all_tokens(registry: Registry) -> list[TokenRow]:
    return [TokenRow(**row) for row in registry.db["tokens"].rows_where(order_by="created_at, rowid")]


def put_token(registry: Registry, row: TokenRow) -> None:
    registry.db["tokens"].insert(row.to_dict(), replace=True)


def mint_logged(registry: Registry, row: TokenRow) -> bool:
    """Whether the transparency log already holds the mint event of this token."""
    return events.mint_logged(registry.db, row.work_id, row.chain_id, row.contract, row.token_id)


def delete_token(registry: Registry, row: TokenRow) -> None:
    registry.db["tokens"].delete((row.chain_id, row.contract, row.record_id))


def table_rows(registry: Registry, table: str, where: str | None = None) -> list[dict]:
    """Every row of one of this module's tables (``tokens``, ``chain_deployments``) as stored, for audit."""
    if table not in ("tokens", "chain_deployments"):
        raise ValueError(f"{table} is not a chain table")
    return list(registry.db[table].rows_where(where))
