"""A work's tokens as ``show`` and ``verify`` report them: what the registry recorded and, when the chain
answers, who owns the token now and what royalty it pays (read through the standard ERC-721/ERC-2981 calls).

web3 is imported only when a token's chain can actually be asked: the local node is running, or an
``--rpc`` URL was given.  Nothing here sends a transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from artforge.chain import events, store
from artforge.chain.store import TokenRow
from artforge.errors import ArtforgeError
from artforge.registry.database import Registry

ROYALTY_PROBE_PRICE = 10_000  # royaltyInfo(token, 10000) returns the royalty in basis points


@dataclass(frozen=True)
class LiveToken:
    """A token as the chain says it is now."""

    owner: str
    royalty_receiver: str
    royalty_bps: int
    token_uri: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TokenState:
    """A recorded token (or mint attempt), with its live state when the chain was asked.

    A minted token's facts are those of its mint event, a log leaf signed by the log key (``signed``); a
    pending or failed attempt is this registry's own bookkeeping, shown as such.
    """

    row: TokenRow
    network: str  # "local", "rpc", or "unknown" when the deployment is not recorded
    live: LiveToken | None = None
    note: str | None = None  # why there is no live state
    signed_fields: tuple[str, ...] = ()  # what the mint event signs (empty: not minted, or no event)
    minted_at: str | None = None  # when the mint event was signed
    problems: tuple[str, ...] = ()  # where the token row disagrees with its mint event

    @property
    def signed(self) -> bool:
        return bool(self.signed_fields)

    def to_dict(self) -> dict:
        data = self.row.to_dict()
        if self.signed:  # only what the mint event signs; the row's own timestamps are bookkeeping
            data = {name: data[name] for name in ("work_id", "status", *self.signed_fields)}
            data["minted_at"] = self.minted_at
        return {**data, "signed": self.signed, "network": self.network,
                "on_chain": self.live.to_dict() if self.live else None, "on_chain_note": self.note}


def recorded_tokens(registry: Registry, work_id: str) -> list[TokenState]:
    """The work's tokens (registry only; no chain): a minted one as its signed mint event says, its network
    as the signed deployment event says (or the deployment row, for one recorded before they were logged)."""
    db = registry.db
    rows = store.tokens_of_work(registry, work_id)
    if not rows:
        return []  # most works: no need to read the log's chain events
    networks = {(d.chain_id, d.address): d.network for d in store.deployments(registry)}
    networks.update({(e["deployment"]["chain_id"], e["deployment"]["address"]): e["deployment"]["network"]
                     for e in events.chain_events(db, events.DEPLOYMENT_TYPE)})
    mints = {(e["token"]["chain_id"], e["token"]["contract"], e["token"]["token_id"]): e
             for e in events.chain_events(db, events.MINT_TYPE, work_id)}
    states = []
    for row in rows:
        network = networks.get((row.chain_id, row.contract), "unknown")
        event = mints.get((row.chain_id, row.contract, row.token_id)) if row.status == store.MINTED else None
        if event is None:
            problems = (f"token {row.token_id}: minted, but no mint event in the log",) \
                if row.status == store.MINTED else ()
            states.append(TokenState(row, network, problems=problems))
            continue
        token = event["token"]
        differs = any(getattr(row, name) != value for name, value in token.items())
        states.append(TokenState(replace(row, **token), network, signed_fields=tuple(token),
                                 minted_at=event.get("created_at"),
                                 problems=(f"token {row.token_id}: its row differs from its mint event",) if differs
                                 else ()))
    return states


class LiveReader:
    """Reads tokens from their chains, opening each chain at most once (``verify`` checks many images)."""

    def __init__(self, home_dir: Path, rpc_url: str | None = None):
        self.home_dir = home_dir
        self.rpc_url = rpc_url
        self._sessions: dict[str, Any] = {}  # network -> ChainSession, or why that chain cannot be read

    def _session(self, network: str) -> Any:
        from artforge.chain.localnode import ANVIL_DEV_KEY, running_node
        from artforge.chain.network import ChainTarget, connect

        if network not in self._sessions:
            if network == "local":
                node = running_node(self.home_dir)
                if node is None:
                    self._sessions[network] = "the local chain is not running (artforge chain up)"
                else:
                    self._sessions[network] = connect(ChainTarget("local"), node.url, ANVIL_DEV_KEY)
            elif network == "rpc" and self.rpc_url:
                # Reads need no key; the session's account is a throwaway that never signs.
                self._sessions[network] = connect(ChainTarget("rpc", self.rpc_url), default_key=b"\x01" * 32)
            else:
                self._sessions[network] = "give --rpc URL to read it from its chain"
        return self._sessions[network]

    def read(self, state: TokenState) -> TokenState:
        if state.row.status != store.MINTED or state.row.token_id is None:
            return state
        try:
            session = self._session(state.network)
        except ArtforgeError as exc:
            self._sessions[state.network] = str(exc)
            session = str(exc)
        if isinstance(session, str):
            return replace(state, note=session)
        if session.chain_id != state.row.chain_id:
            return replace(state, note=f"the node at {session.target.label} serves chain {session.chain_id}")
        return replace(state, **_read_token(session, state.row))


def _read_token(session: Any, row: TokenRow) -> dict:
    from artforge.chain.artifact import load_artifact

    contract = session.w3.eth.contract(address=row.contract, abi=load_artifact().abi)
    try:
        owner = contract.functions.ownerOf(row.token_id).call()
        receiver, amount = contract.functions.royaltyInfo(row.token_id, ROYALTY_PROBE_PRICE).call()
        uri = contract.functions.tokenURI(row.token_id).call()
    except Exception as exc:  # noqa: BLE001 - a reset chain or a burnt token: say so, don't fail the report
        return {"note": f"the chain does not have this token now ({type(exc).__name__})"}
    if not owner:
        return {"note": "the chain does not have this token now"}
    return {"live": LiveToken(owner, receiver, int(amount), uri)}


def with_live_state(states: list[TokenState], reader: LiveReader) -> list[TokenState]:
    """``states`` with live owner and royalty filled in where the chain answers."""
    return [reader.read(state) for state in states]
