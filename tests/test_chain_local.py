"""The local dev chain (anvil on 127.0.0.1) and RPC chains: persistence, reconciliation, wrong chains."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from chain_helpers import GENERIC_ABI, anvil_or_skip, free_port
from cli_helpers import click_command, run, run_json

from artforge.chain import localnode
from artforge.chain.localnode import ANVIL_DEV_KEY
from artforge.chain.network import ChainTarget, connect
from artforge.usecases.chain_setup import open_session
from artforge.usecases.mint import MintRequest, prepare_mint

pytestmark = pytest.mark.slow
DEV_KEY_HEX = "0x" + ANVIL_DEV_KEY.hex()
UNFUNDED_KEY_HEX = "0x" + "42" * 32


@pytest.fixture
def local_chain(home, monkeypatch):
    """`artforge chain up` on a free port; always brought down again by its PID."""
    anvil_or_skip(monkeypatch)
    port = free_port()
    result = run("chain", "up", "--port", port)
    assert result.exit_code == 0, result.stderr
    yield port
    run("chain", "down")
    localnode.stop(home.settings.home)


def _register(art, seed: int = 1, licence: str = "CC-BY-4.0") -> tuple[Path, str]:
    path = art(seed)
    result = run("register", path, "--license", licence, "-q")
    assert result.exit_code == 0, result.stderr
    return path, result.stdout.strip()


def _rows(home_dir: Path, table: str) -> list[tuple]:
    with sqlite3.connect(home_dir / "registry.db") as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_tokens_survive_a_restart_of_the_local_chain(home, art, local_chain, isolated_home) -> None:
    path, work_id = _register(art)
    code, deployed = run_json("chain", "deploy")
    assert code == 0 and deployed["data"]["created"] and deployed["data"]["chain_id"] == 31337
    code, again = run_json("chain", "deploy")
    assert code == 0 and not again["data"]["created"] and again["data"]["address"] == deployed["data"]["address"]
    code, minted = run_json("mint", path, "--chain", "local", "--royalty-bps", "750")
    token = minted["data"]
    assert code == 0 and token["created"] and token["recorded"] and token["token_id"] == 1
    [row] = _rows(isolated_home, "tokens")
    assert "minted" in row and token["tx_hash"] in row and token["block"] in row

    status = run_json("chain", "status")[1]["data"]
    pid = status["node"]["pid"]
    assert status["running"] and status["tokens"] == 1
    assert run("chain", "down").exit_code == 0
    assert not _alive(pid), "chain down must stop the process it started"
    assert run_json("chain", "status")[1]["data"]["running"] is False
    result = run("show", work_id)
    assert "live state unknown: the local chain is not running" in result.stdout

    assert run("chain", "up", "--port", local_chain).exit_code == 0
    code, shown = run_json("show", work_id)
    [state] = shown["data"]["tokens"]
    assert state["on_chain"]["owner"] == token["recipient"] and state["on_chain"]["royalty_bps"] == 750
    code, again = run_json("mint", path, "--chain", "local")
    assert code == 0 and not again["data"]["created"] and again["data"]["token_id"] == 1
    assert again["data"]["tx_hash"] == token["tx_hash"]
    # Any wallet reads it through the standard interfaces.
    session = open_session(home, ChainTarget("local"))
    generic = session.w3.eth.contract(address=token["contract"], abi=GENERIC_ABI)
    assert generic.functions.tokenURI(1).call() == token["token_uri"]
    assert generic.functions.royaltyInfo(1, 10_000).call() == [token["royalty_receiver"], 750]
    # verify reports the token with its owner now.
    code, report = run_json("verify", path)
    assert report["data"]["work"]["tokens"][0]["on_chain"]["owner"] == token["recipient"]
    # The mint is in the transparency log, once, signed by the log key; audit checks it against the table.
    with sqlite3.connect(isolated_home / "registry.db") as db:
        [(leaf,)] = db.execute("SELECT leaf FROM log_leaves WHERE kind = 'mint'").fetchall()
    assert json.loads(leaf)["payload"]["token"]["tx_hash"] == token["tx_hash"]
    code, audit = run_json("audit")
    assert code == 0 and audit["data"]["ok"], audit
    with sqlite3.connect(isolated_home / "registry.db") as db:
        db.execute("UPDATE tokens SET token_id = 7")
    code, audit = run_json("audit")
    assert code == 4 and any("is not in the log" in p["message"] for p in audit["data"]["problems"])


def _begin_mint(home, path: Path):
    """Sign, record as pending and send a mint, then stop: what a process killed before the receipt leaves."""
    session = open_session(home, ChainTarget("local"))
    with home.registry() as registry:
        prepared, _ = prepare_mint(registry, home, MintRequest(str(path)), lambda: session).begin()
    return session, prepared


def test_a_run_killed_after_sending_is_reconciled_not_minted_twice(home, art, local_chain, isolated_home) -> None:
    path, work_id = _register(art)
    assert run("chain", "deploy").exit_code == 0
    session, prepared = _begin_mint(home, path)
    [row] = _rows(isolated_home, "tokens")
    assert "pending" in row and prepared.tx_hash in row
    code, envelope = run_json("mint", path, "--chain", "local")
    token = envelope["data"]
    assert code == 0 and not token["created"] and token["token_id"] == 1 and token["tx_hash"] == prepared.tx_hash
    [row] = _rows(isolated_home, "tokens")
    assert "minted" in row and "pending" not in row
    contract = session.w3.eth.contract(address=token["contract"], abi=GENERIC_ABI)
    assert contract.functions.balanceOf(token["recipient"]).call() == 1  # one token, not two


def test_a_token_the_registry_never_heard_of_is_recorded_from_the_chain(home, art, local_chain, isolated_home) -> None:
    path, _ = _register(art)
    assert run("chain", "deploy").exit_code == 0
    _, prepared = _begin_mint(home, path)
    with home.registry() as registry, registry.transaction():
        registry.db["tokens"].delete_where()  # as if the pending row had never been committed
    code, envelope = run_json("mint", path, "--chain", "local")
    assert code == 0 and envelope["data"]["token_id"] == 1 and envelope["data"]["tx_hash"] == prepared.tx_hash
    [row] = _rows(isolated_home, "tokens")
    assert "minted" in row


def test_rpc_with_a_key_from_the_environment(home, art, local_chain, monkeypatch, isolated_home) -> None:
    path, _ = _register(art)
    url = f"http://127.0.0.1:{local_chain}"
    monkeypatch.setenv("ARTFORGE_TEST_MINTER", DEV_KEY_HEX)
    code, deployed = run_json("chain", "deploy", "--rpc", url, "--key-env", "ARTFORGE_TEST_MINTER")
    assert code == 0 and deployed["data"]["network"] == "rpc"
    code, minted = run_json("mint", path, "--rpc", url, "--key-env", "ARTFORGE_TEST_MINTER", "--to",
                            "0x70997970C51812Dc3a010c7D01B91b73Aa4d79C8")
    assert code == 0 and minted["data"]["recipient"] == "0x70997970C51812Dc3a010c7D01B91b73Aa4d79C8"
    code, shown = run_json("show", minted["data"]["work_id"], "--rpc", url)
    assert shown["data"]["tokens"][0]["on_chain"]["owner"] == "0x70997970C51812Dc3a010c7D01B91b73Aa4d79C8"
    assert DEV_KEY_HEX[2:] not in (isolated_home / "registry.db").read_bytes().hex()


def test_an_unfunded_key_and_a_foreign_contract_leave_the_registry_unchanged(home, art, local_chain, monkeypatch,
                                                                             isolated_home) -> None:
    path, _ = _register(art)
    url = f"http://127.0.0.1:{local_chain}"
    monkeypatch.setenv("ARTFORGE_TEST_EMPTY", UNFUNDED_KEY_HEX)
    result = run("chain", "deploy", "--rpc", url, "--key-env", "ARTFORGE_TEST_EMPTY")
    assert result.exit_code == 13 and "insufficient funds" in result.stderr
    assert _rows(isolated_home, "chain_deployments") == []
    assert run("chain", "deploy").exit_code == 0
    before = _rows(isolated_home, "tokens")
    # The contract's owner is the dev account: another (funded by nobody) key cannot mint on it.
    result = run("mint", path, "--rpc", url, "--key-env", "ARTFORGE_TEST_EMPTY")
    assert result.exit_code == 13 and "would revert: OwnableUnauthorizedAccount" in result.stderr
    assert _rows(isolated_home, "tokens") == before == []


def test_a_node_serving_another_chain_is_refused(home, art, local_chain, monkeypatch, isolated_home) -> None:
    path, _ = _register(art)
    assert run("chain", "deploy").exit_code == 0
    [deployment] = _rows(isolated_home, "chain_deployments")
    address = deployment[1]
    port = free_port()
    other = subprocess.Popen([os.environ["ARTFORGE_ANVIL"], "--host", "127.0.0.1", "--port", str(port),
                              "--chain-id", "4242", "--silent"], stdout=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a guard against a hang only, generous for a busy machine
        while True:
            try:
                connect(ChainTarget("rpc", url), default_key=ANVIL_DEV_KEY)
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        monkeypatch.setenv("ARTFORGE_TEST_MINTER", DEV_KEY_HEX)
        result = run("mint", path, "--rpc", url, "--key-env", "ARTFORGE_TEST_MINTER", "--contract", address)
        assert result.exit_code == 13 and "recorded on chain 31337" in result.stderr and "serves chain 4242" in result.stderr
        result = run("mint", path, "--rpc", url, "--key-env", "ARTFORGE_TEST_MINTER")
        assert result.exit_code == 13 and "no artforge contract recorded for chain 4242" in result.stderr
    finally:
        other.terminate()
        other.wait(10)
    assert _rows(isolated_home, "tokens") == []


def test_a_reset_local_chain_is_noticed(home, art, local_chain, isolated_home) -> None:
    path, _ = _register(art)
    assert run("chain", "deploy").exit_code == 0
    assert run("mint", path, "--chain", "local").exit_code == 0
    assert run("chain", "down").exit_code == 0
    (isolated_home / "chain" / "local" / "state.json").unlink()  # the saved state is lost
    assert run("chain", "up", "--port", local_chain).exit_code == 0
    result = run("mint", path, "--chain", "local")
    assert result.exit_code == 13 and "no contract at" in result.stderr
    code, deployed = run_json("chain", "deploy")
    assert code == 0 and deployed["data"]["created"]
    code, minted = run_json("mint", path, "--chain", "local")
    assert code == 0 and minted["data"]["created"] and minted["data"]["token_id"] == 1


def test_chain_up_refuses_a_busy_port_and_down_is_idempotent(home, monkeypatch) -> None:
    anvil_or_skip(monkeypatch)
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run("chain", "up", "--port", busy.getsockname()[1])
    assert result.exit_code == 13 and "in use" in result.stderr
    result = run("chain", "down")
    assert result.exit_code == 0 and "was not running" in result.stderr


def test_a_pending_transaction_that_reverted_does_not_stop_a_new_mint(home, art, local_chain, isolated_home) -> None:
    from artforge.chain import store

    path, work_id = _register(art)
    code, deployed = run_json("chain", "deploy")
    session = open_session(home, ChainTarget("local"))
    # What a crashed run may leave: a pending row whose transaction was mined and reverted.  Here the
    # transaction is a mint by anvil's second account, which does not own the contract; its gas is given,
    # so nothing estimates (and refuses) it before it is mined.
    stranger = session.w3.eth.account.from_key("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
    contract = session.w3.eth.contract(address=deployed["data"]["address"], abi=_artifact_abi())
    call = contract.functions.mint(stranger.address, "ipfs://x", stranger.address, 0, bytes.fromhex(work_id))
    tx = call.build_transaction(
        {"from": stranger.address, "gas": 300_000, "chainId": 31337,
         "nonce": session.w3.eth.get_transaction_count(stranger.address)})
    tx_hash = session.w3.eth.send_raw_transaction(stranger.sign_transaction(tx).raw_transaction)
    assert session.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 0
    with home.registry() as registry, registry.transaction():
        store.put_token(registry, store.TokenRow(
            chain_id=31337, contract=contract.address, record_id=work_id, work_id=work_id, token_id=None,
            recipient=stranger.address, royalty_receiver=stranger.address, royalty_bps=0, token_uri="ipfs://x",
            metadata_cid="x", image_cid="x", tx_hash="0x" + tx_hash.hex().removeprefix("0x"), block=None,
            status="pending", error=None, created_at="2026-11-26T00:00:00Z", updated_at="2026-11-26T00:00:00Z"))
    code, minted = run_json("mint", path, "--chain", "local")
    assert code == 0 and minted["data"]["created"] and minted["data"]["token_id"] == 1
    [row] = _rows(isolated_home, "tokens")
    assert "minted" in row and minted["data"]["tx_hash"] in row


def _artifact_abi() -> list[dict]:
    from artforge.chain.artifact import load_artifact

    return load_artifact().abi


def test_deploy_and_mint_name_a_passphrase_option_they_have(art, isolated_home, monkeypatch) -> None:
    """Deploying and minting on a chain that lasts sign the log: with encrypted keys and no terminal, the error
    named --passphrase-env, which neither command had.  Now both do, and then succeed."""
    anvil_or_skip(monkeypatch)
    monkeypatch.setenv("ARTFORGE_TEST_PW", "correct horse")
    monkeypatch.delenv("ARTFORGE_PASSPHRASE", raising=False)
    assert run("init", "--passphrase-env", "ARTFORGE_TEST_PW").exit_code == 0
    path = art(1)
    assert run("register", path, "--license", "CC-BY-4.0", "-q", "--passphrase-env", "ARTFORGE_TEST_PW").exit_code == 0
    assert run("chain", "up", "--port", free_port()).exit_code == 0
    try:
        for command in (("chain", "deploy"), ("mint", path, "--chain", "local")):
            refused = run(*command)
            assert refused.exit_code == 7 and "--passphrase-env" in refused.stderr, refused.stderr
            words = command[:2] if command[0] == "chain" else command[:1]
            assert "--passphrase-env" in {o for p in click_command(words).params for o in getattr(p, "opts", [])}
            if command[0] == "chain":
                deployed = run(*command, "--passphrase-env", "ARTFORGE_TEST_PW")
                assert deployed.exit_code == 0, deployed.stderr
        minted = run("mint", path, "--chain", "local", "--passphrase-env", "ARTFORGE_TEST_PW")
        assert minted.exit_code == 0, minted.stderr
    finally:
        run("chain", "down")
        localnode.stop(isolated_home)


def test_chain_up_finds_the_anvil_make_installed(home, monkeypatch) -> None:
    """`chain up` failed after `make test` unless ARTFORGE_ANVIL was set; the checkout's anvil is found."""
    if not localnode.CHECKOUT_ANVIL.exists():
        pytest.skip("no anvil in tools/anvil (make anvil)")
    monkeypatch.delenv("ARTFORGE_ANVIL", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # an anvil on PATH would hide the checkout's
    assert localnode.find_anvil().startswith(str(localnode.CHECKOUT_ANVIL.parents[1]))  # (its native binary)
    result = run("chain", "up", "--port", free_port())
    try:
        assert result.exit_code == 0, result.stderr
    finally:
        run("chain", "down")
        localnode.stop(home.settings.home)
