"""`artforge mint` on the in-process chain (eth-tester + py-evm): metadata, CIDs, licence rule, bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cli_helpers import run, run_json

from artforge.chain.contract import bind, deploy
from artforge.chain.ipfs import file_cid
from artforge.chain.network import ChainTarget, connect
from artforge.errors import NotArtforgeContract, UsageError
from artforge.provenance.records import SignedRecord, check_signature
from artforge.usecases.mint import MintRequest, mint_work


def _register(art, licence: str = "CC-BY-4.0", seed: int = 1) -> tuple[Path, str]:
    path = art(seed)
    result = run("register", path, "--license", licence, "-q")
    assert result.exit_code == 0, result.stderr
    return path, result.stdout.strip()


def _chain_rows(home: Path) -> list:
    with sqlite3.connect(home / "registry.db") as db:
        return db.execute("SELECT * FROM tokens").fetchall() + db.execute("SELECT * FROM chain_deployments").fetchall()


def test_mint_on_the_in_process_chain_points_the_token_at_verifiable_metadata(home, art, isolated_home) -> None:
    path, work_id = _register(art)
    code, envelope = run_json("mint", path)
    assert code == 0, envelope
    token = envelope["data"]
    assert token["token_id"] == 1 and token["created"] and token["network"] == "memory"
    assert not token["recorded"] and _chain_rows(isolated_home) == []  # that chain ends with the command
    assert token["record_id"] == work_id and token["royalty_bps"] == 500
    # The URI names the metadata by its CID; the metadata names the image by its CID.
    metadata_file = Path(token["metadata_path"])
    data = metadata_file.read_bytes()
    assert token["token_uri"] == f"ipfs://{token['metadata_cid']}" == f"ipfs://{file_cid(data)}"
    assert metadata_file.name == f"{token['metadata_cid']}.json"
    document = json.loads(data)
    assert document["image"] == f"ipfs://{file_cid(path.read_bytes())}" == f"ipfs://{token['image_cid']}"
    traits = {a["trait_type"]: a["value"] for a in document["attributes"]}
    assert traits["Licence"] == "CC-BY-4.0" and traits["Record id"] == work_id
    assert traits["Commercial use"] == "allowed" and len(traits["PDQ"]) == 64
    # The signed record inside verifies offline, and it is the work's registration.
    record = SignedRecord.from_dict(document["artforge"]["record"])
    assert record.record_id == work_id and check_signature(record) == []
    assert document["artforge"]["creator_public_key"] == record.payload["signer"]["public_key"]


def test_the_human_output_says_the_in_process_token_is_not_kept(home, art) -> None:
    path, _ = _register(art)
    result = run("mint", path)
    assert result.exit_code == 0 and result.stdout == "1\n"
    assert "gone when the command ends" in result.stderr


def test_a_work_id_needs_its_image_and_the_image_must_be_the_works(home, art) -> None:
    path, work_id = _register(art)
    other = art(2)
    result = run("mint", work_id[:10])
    assert result.exit_code == 2 and "--image" in result.stderr
    result = run("mint", work_id[:10], "--image", other)
    assert result.exit_code == 2 and "not the image of work" in result.stderr
    assert run("mint", work_id[:10], "--image", path).exit_code == 0


def test_a_noncommercial_licence_needs_explicit_intent(home, art, isolated_home) -> None:
    path, _ = _register(art, "CC-BY-NC-4.0")
    result = run("mint", path)
    assert result.exit_code == 12 and "forbids commercial use" in result.stderr
    assert result.stderr.count("\n") == 1 and not (isolated_home / "tokens").exists()
    code, envelope = run_json("mint", path, "--allow-noncommercial-token")
    assert code == 0
    document = json.loads(Path(envelope["data"]["metadata_path"]).read_text())
    traits = {a["trait_type"]: a["value"] for a in document["attributes"]}
    assert traits["Licence"] == "CC-BY-NC-4.0" and traits["Commercial use"] == "not allowed"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--royalty-bps", "10001"], 2, "--royalty-bps must be 0-10000"),
        (["--to", "0x123"], 2, "is not an address"),
        (["--to", "0x52908400098527886e0F7030069857D2E4169EE8"], 2, "wrong checksum"),
        (["--royalty-to", "alice"], 2, "is not an address"),
        (["--chain", "moon"], 2, "unknown chain"),
        (["--chain", "local", "--rpc", "http://127.0.0.1:9"], 2, "either --chain or --rpc"),
        (["--rpc", "ftp://example"], 2, "http(s) URL"),
        (["--rpc", "http://127.0.0.1:9"], 2, "--key-env"),
        (["--key-env", "K"], 2, "in-process chain has its own accounts"),
        (["--rpc", "http://127.0.0.1:9", "--key-env", "ARTFORGE_TEST_UNSET"], 7, "is not set"),
        (["--chain", "local"], 13, "not running"),
        (["--to", "0x0000000000000000000000000000000000000000"], 13, "would revert: ERC721InvalidReceiver"),
    ],
)
def test_bad_options_give_one_clear_line_and_no_token(home, art, args, code, message) -> None:
    path, _ = _register(art)
    result = run("mint", path, *args)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_malformed_key_is_refused_without_echoing_it(home, art, monkeypatch) -> None:
    path, _ = _register(art)
    secret = "0x" + "ab" * 31 + "zz"  # a real key with a typo must not end up in a terminal's scrollback
    monkeypatch.setenv("ARTFORGE_TEST_KEY", secret)
    result = run("mint", path, "--rpc", "http://127.0.0.1:9/v3/api-secret", "--key-env", "ARTFORGE_TEST_KEY")
    assert result.exit_code == 7 and "does not hold a private key" in result.stderr
    assert secret not in result.stderr + result.stdout and "ab" * 31 not in result.stderr


def test_an_unreachable_rpc_is_named_without_its_path_or_query(home, art, monkeypatch) -> None:
    path, _ = _register(art)
    monkeypatch.setenv("ARTFORGE_TEST_KEY", "0x" + "11" * 32)
    result = run("mint", path, "--rpc", "http://127.0.0.1:9/v3/api-secret?key=s3cr3t", "--key-env",
                 "ARTFORGE_TEST_KEY")
    assert result.exit_code == 13 and "no EVM node answers at http://127.0.0.1:9 " in result.stderr
    assert "api-secret" not in result.stderr and "s3cr3t" not in result.stderr


def test_unregistered_and_unowned_works_are_refused(home, art) -> None:
    result = run("mint", art(7))
    assert result.exit_code == 6 and "not a registered image" in result.stderr
    assert run("keys", "create", "other", "--no-encrypt").exit_code == 0
    path = art(8)
    assert run("register", path, "--license", "CC0-1.0", "--key", "other", "-q").exit_code == 0
    for stored in (home.settings.keys_dir).glob("other*"):
        stored.unlink()  # the owner's key is elsewhere now
    result = run("mint", path)
    assert result.exit_code == 9 and "only the owner mints" in result.stderr


def test_one_in_process_chain_mints_each_work_once(home, art) -> None:
    session = connect(ChainTarget("memory"))
    first, second = art(1), art(2)
    for path in (first, second):
        assert run("register", path, "--license", "CC0-1.0", "-q").exit_code == 0
    a = mint_work(home, MintRequest(str(first)), ChainTarget(), session=session)
    b = mint_work(home, MintRequest(str(second), royalty_bps=250), ChainTarget(), session=session)
    again = mint_work(home, MintRequest(str(first)), ChainTarget(), session=session)
    assert (a.token.token_id, b.token.token_id) == (1, 2) and a.token.contract == b.token.contract
    assert again.token.token_id == 1 and not again.created and again.token.tx_hash == a.token.tx_hash
    assert again.token.royalty_bps == 500 and b.token.royalty_bps == 250 and again.token.status == "minted"


def test_a_contract_with_other_code_is_not_taken_for_artforges() -> None:
    session = connect(ChainTarget("memory"))
    ours = deploy(session)
    assert bind(session, ours.address).address == ours.address
    with pytest.raises(NotArtforgeContract, match="no contract at"):
        bind(session, session.address)  # an account, not a contract
    # A different contract: the same ERC-721 built with another owner would still match, so deploy
    # something that is not it at all (a contract whose runtime code is a single STOP).
    factory = session.w3.eth.contract(abi=[], bytecode="0x600a600c600039600a6000f3" + "00" * 10)
    receipt = session.w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": session.w3.eth.accounts[0]}))
    with pytest.raises(NotArtforgeContract, match="not an artforge provenance contract"):
        bind(session, receipt.contractAddress)
    with pytest.raises(UsageError):
        bind(session, "0xnot-an-address")


def test_chain_up_without_anvil_says_how_to_install_it(home, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ARTFORGE_ANVIL", str(tmp_path / "no-such-anvil"))
    result = run("chain", "up", "--port", "1")
    assert result.exit_code == 13 and "npm install -g @foundry-rs/anvil" in result.stderr
    status = run_json("chain", "status")[1]["data"]
    assert status["running"] is False and status["deployments"] == []


def test_royalties_go_to_the_artist_not_to_the_buyer(home, art) -> None:
    """The royalty receiver defaulted to `--to` (the buyer); it is the minting account, the artist's."""
    session = connect(ChainTarget("memory"))
    path = art(1)
    assert run("register", path, "--license", "CC0-1.0", "-q").exit_code == 0
    buyer = "0x" + "be" * 20
    minted = mint_work(home, MintRequest(str(path), to=buyer), ChainTarget(), session=session)
    assert minted.token.recipient.lower() == buyer
    assert minted.token.royalty_receiver == session.address != minted.token.recipient
