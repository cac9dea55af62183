"""Deploying the ArtforgeProvenance contract and finding it again, checked by its code."""

from __future__ import annotations

import hashlib
from typing import Any

from artforge.chain import store
from artforge.chain.artifact import ContractArtifact, load_artifact
from artforge.chain.network import ChainSession, check_address, prepare, send
from artforge.chain.store import Deployment
from artforge.errors import ChainError, NotArtforgeContract, TransactionRejected, WrongChain
from artforge.provenance.records import utc_now
from artforge.registry.database import Registry


def code_sha256(code: bytes | str) -> str:
    """SHA-256 of runtime bytecode (the contract has no immutables, so every deployment's code is equal)."""
    raw = bytes.fromhex(code[2:] if code.startswith("0x") else code) if isinstance(code, str) else bytes(code)
    return hashlib.sha256(raw).hexdigest()


def deploy(session: ChainSession, artifact: ContractArtifact | None = None) -> Deployment:
    """Deploy a new contract owned by the session's account; returns what to record."""
    artifact = artifact or load_artifact()
    factory = session.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    prepared = prepare(session, factory.constructor(session.address), artifact.abi, "deploy")
    receipt = send(session, prepared, "deploy")
    if receipt["status"] != 1 or not receipt.get("contractAddress"):
        raise TransactionRejected(f"deploy: transaction {prepared.tx_hash} reverted")
    return Deployment(
        chain_id=session.chain_id, address=receipt["contractAddress"], network=session.target.kind,
        deployer=session.address, tx_hash=prepared.tx_hash,
        block=int(receipt["blockNumber"]), code_sha256=code_sha256(artifact.deployed_bytecode),
        created_at=utc_now())


def deploy_and_record(registry: Registry, session: ChainSession) -> Deployment:
    """``artforge chain deploy``: a new contract, recorded in the registry (not for the in-process chain)."""
    deployment = deploy(session)
    if session.persistent:
        with registry.transaction():
            store.record_deployment(registry, deployment)
    return deployment


def bind(session: ChainSession, address: str, artifact: ContractArtifact | None = None) -> Any:
    """The contract at ``address``, after checking that its code is artforge's (once per session)."""
    address = check_address(address, "contract")
    if address not in session.contracts:
        session.contracts[address] = _checked_contract(session, address, artifact or load_artifact())
    return session.contracts[address]


def _checked_contract(session: ChainSession, address: str, artifact: ContractArtifact) -> Any:
    code = bytes(session.w3.eth.get_code(address))
    if not code:
        raise NotArtforgeContract(f"no contract at {address} on chain {session.chain_id} (a dev chain reset "
                                  f"without its state? deploy again with 'artforge chain deploy')")
    if code_sha256(code) != code_sha256(artifact.deployed_bytecode):
        raise NotArtforgeContract(f"the contract at {address} is not an artforge provenance contract "
                                  f"(its code differs from {artifact.name} {artifact.source_sha256[:12]})")
    return session.w3.eth.contract(address=address, abi=artifact.abi)


def current_deployment(registry: Registry, session: ChainSession, address: str | None = None) -> Deployment:
    """The recorded deployment to use on the session's chain: ``address`` if given, else the newest.

    The chain id the node reports must be the one the deployment was recorded with; :func:`bind` then
    checks that the code is still there (a dev node reset without its saved state has none).
    """
    recorded = store.deployments(registry, session.chain_id)
    if address is not None:
        address = check_address(address, "contract")
        elsewhere = [d for d in store.deployments(registry) if d.address == address and d.chain_id != session.chain_id]
        recorded = [d for d in recorded if d.address == address]
        if not recorded and elsewhere:
            raise WrongChain(f"contract {address} was recorded on chain {elsewhere[0].chain_id}, but "
                             f"{session.target.label} serves chain {session.chain_id}")
    if recorded:
        return recorded[0]
    where = f" at {address}" if address else ""
    raise ChainError(f"no artforge contract{where} recorded for chain {session.chain_id}: run "
                     f"'artforge chain deploy' with the same chain options first")


def contract_for(registry: Registry, session: ChainSession, address: str | None = None) -> tuple[Any, Deployment]:
    """The contract to mint on, bound and checked.

    On the in-process chain the contract is deployed into the session the first time (that chain starts
    empty each process) and nothing is recorded.
    """
    if not session.persistent:
        if session.memory_deployment is None:
            session.memory_deployment = deploy(session)
        deployment = session.memory_deployment
        return bind(session, deployment.address), deployment
    deployment = current_deployment(registry, session, address)
    return bind(session, deployment.address), deployment


def minted_token_id(contract: Any, receipt: Any) -> int:
    """The token id in a mint transaction's ``Minted`` event."""
    from web3.logs import DISCARD  # the receipt also holds Transfer and MetadataUpdate logs

    events = contract.events.Minted().process_receipt(receipt, errors=DISCARD)
    if not events:
        raise ChainError("mint: the receipt has no Minted event")
    return int(events[0]["args"]["tokenId"])
