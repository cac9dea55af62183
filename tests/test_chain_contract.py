"""The ArtforgeProvenance contract on a real EVM (eth-tester + py-evm, in process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import web3
from chain_helpers import ERC721, ERC721_METADATA, ERC2981, ERC4906, GENERIC_ABI
from eth_tester.exceptions import TransactionFailed
from web3.logs import DISCARD

from artforge.chain.artifact import CONTRACT_NAME, CONTRACTS_DIR, load_artifact, source_sha256
from artforge.errors import StaleArtifact


@pytest.fixture(scope="module")
def chain():
    w3 = web3.Web3(web3.EthereumTesterProvider())
    owner, artist, stranger = w3.eth.accounts[:3]
    artifact = load_artifact()
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(owner).transact({"from": owner}))
    contract = w3.eth.contract(address=receipt.contractAddress, abi=artifact.abi)
    return w3, contract, owner, artist, stranger


def _record(n: int) -> bytes:
    return bytes([n]) * 32


def test_the_committed_artifact_was_built_from_the_committed_source(tmp_path: Path) -> None:
    artifact = load_artifact()
    assert artifact.source_sha256 == source_sha256() and artifact.openzeppelin == "5.7.0"
    assert artifact.compiler.startswith("0.8.37")
    # An edited source with the old artifact is refused.
    for name in (f"{CONTRACT_NAME}.sol", f"{CONTRACT_NAME}.json"):
        shutil.copy(CONTRACTS_DIR / name, tmp_path / name)
    with open(tmp_path / f"{CONTRACT_NAME}.sol", "a", encoding="utf-8") as source:
        source.write("\n// edited\n")
    with pytest.raises(StaleArtifact, match="npm run build"):
        load_artifact(tmp_path)


def test_mint_sets_uri_royalty_and_record_and_reads_back_through_the_standard_interfaces(chain) -> None:
    w3, contract, owner, artist, _ = chain
    tx = contract.functions.mint(artist, "ipfs://bafy-one", artist, 500, _record(1)).transact({"from": owner})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    [event] = contract.events.Minted().process_receipt(receipt, errors=DISCARD)  # Transfer, MetadataUpdate too
    token = event.args.tokenId
    assert event.args.recordHash == _record(1)
    assert contract.functions.tokenOfRecord(_record(1)).call() == token
    assert contract.functions.recordOf(token).call() == _record(1)
    generic = w3.eth.contract(address=contract.address, abi=GENERIC_ABI)
    assert generic.functions.ownerOf(token).call() == artist
    assert generic.functions.tokenURI(token).call() == "ipfs://bafy-one"
    assert generic.functions.royaltyInfo(token, 10_000).call() == [artist, 500]  # 5%
    for interface in (ERC721, ERC721_METADATA, ERC2981, ERC4906):
        assert generic.functions.supportsInterface(bytes.fromhex(interface[2:])).call(), interface
    assert not generic.functions.supportsInterface(bytes.fromhex("ffffffff")).call()


def test_a_record_is_minted_once_only_by_the_owner_and_never_as_zero(chain) -> None:
    w3, contract, owner, artist, stranger = chain
    w3.eth.wait_for_transaction_receipt(
        contract.functions.mint(artist, "ipfs://two", artist, 250, _record(2)).transact({"from": owner}))
    token = contract.functions.tokenOfRecord(_record(2)).call()
    with pytest.raises(TransactionFailed):  # RecordAlreadyMinted: a second run must reconcile, not mint
        contract.functions.mint(artist, "ipfs://again", artist, 250, _record(2)).transact({"from": owner})
    with pytest.raises(TransactionFailed):  # OwnableUnauthorizedAccount
        contract.functions.mint(stranger, "ipfs://three", stranger, 250, _record(3)).transact({"from": stranger})
    with pytest.raises(TransactionFailed):  # EmptyRecordHash
        contract.functions.mint(artist, "ipfs://zero", artist, 250, bytes(32)).transact({"from": owner})
    with pytest.raises(TransactionFailed):  # ERC2981InvalidTokenRoyalty: more than 100%
        contract.functions.mint(artist, "ipfs://four", artist, 10_001, _record(4)).transact({"from": owner})
    assert contract.functions.tokenOfRecord(_record(2)).call() == token
    assert contract.functions.tokenOfRecord(_record(3)).call() == 0
    assert contract.functions.tokenOfRecord(_record(4)).call() == 0
