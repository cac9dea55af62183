"""Opening the chain a command names (the in-process chain, artforge's local node, or an RPC URL), and
the commands that need only that: ``chain deploy`` and ``chain status``."""

from __future__ import annotations

from dataclasses import dataclass

from artforge.chain import store
from artforge.chain.contract import bind, deploy_and_record
from artforge.chain.localnode import ANVIL_DEV_KEY, DEFAULT_PORT, LocalNode, running_node, start, stop
from artforge.chain.network import ChainSession, ChainTarget, connect
from artforge.errors import ChainError, NotArtforgeContract
from artforge.usecases.home import Home

__all__ = ["DEFAULT_PORT", "ChainTarget", "LocalChainStatus", "deploy_contract", "local_chain_status", "open_session",
           "start_local_chain", "stop_local_chain"]
from artforge.chain.store import Deployment


def open_session(home: Home, target: ChainTarget) -> ChainSession:
    """Connect to ``target``; the local node must have been started with ``artforge chain up``."""
    if target.kind == "local":
        node = running_node(home.settings.home)
        if node is None:
            raise ChainError("the local chain is not running: start it with 'artforge chain up'")
        return connect(target, local_url=node.url, default_key=ANVIL_DEV_KEY)
    return connect(target)


@dataclass(frozen=True)
class LocalChainStatus:
    """``artforge chain status``: is the local node running, and what does the registry hold for it."""

    running: bool
    node: LocalNode | None
    block: int | None
    deployments: list[Deployment]
    tokens: int

    def to_dict(self) -> dict:
        return {"running": self.running, "node": self.node.to_dict() if self.node else None, "block": self.block,
                "deployments": [d.to_dict() for d in self.deployments], "tokens": self.tokens}


def local_chain_status(home: Home) -> LocalChainStatus:
    """The local node's state; while it runs, the deployments listed are those whose code it holds."""
    node = running_node(home.settings.home)
    block, session = None, None
    if node is not None:
        session = connect(ChainTarget("local"), local_url=node.url, default_key=ANVIL_DEV_KEY)
        block = int(session.w3.eth.block_number)
    with home.registry() as registry:
        recorded = [d for d in store.deployments(registry) if d.network == "local"
                    and (session is None or _has_code(session, d))]
        addresses = {(d.chain_id, d.address) for d in recorded}
        tokens = sum(1 for row in store.all_tokens(registry)
                     if (row.chain_id, row.contract) in addresses and row.status == store.MINTED)
    return LocalChainStatus(node is not None, node, block, recorded, tokens)


def _has_code(session: ChainSession, deployment: Deployment) -> bool:
    try:
        bind(session, deployment.address)
    except NotArtforgeContract:
        return False
    return True


def deploy_contract(home: Home, target: ChainTarget, new: bool = False) -> tuple[Deployment, bool]:
    """``artforge chain deploy``: the chain's recorded contract, or a new one (recorded); and whether it is new.

    Once per chain: a contract already recorded for this chain id whose code is still there is returned as
    it is, unless ``new`` asks for another.
    """
    with home.registry() as registry:
        session = open_session(home, target)
        if session.persistent and not new:
            for deployment in store.deployments(registry, session.chain_id):
                if _has_code(session, deployment):  # still there, still artforge's
                    return deployment, False
        return deploy_and_record(registry, session), True


def start_local_chain(home: Home, port: int = DEFAULT_PORT) -> tuple[LocalNode, bool]:
    """``artforge chain up``: start the home's anvil node unless it runs; it and whether it started now."""
    return start(home.settings.home, port)


def stop_local_chain(home: Home) -> LocalNode | None:
    """``artforge chain down``: stop the home's node (it saves its state); None when it was not running."""
    return stop(home.settings.home)
