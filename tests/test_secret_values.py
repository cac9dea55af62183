"""Secrets are never echoed: a key or passphrase given where a variable's name belongs, and RPC URLs.

``--passphrase-env VAR`` and ``--key-env VAR`` take the name of an environment variable.  Pasting the value
itself there is an easy slip (``--key-env "$MINTER_KEY"``); the refusal must not print it to a terminal or
a CI log.  Likewise an RPC URL's path and query (API keys) never appear in an error, even when the node
goes away in the middle of a command.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cli_helpers import run
from registry_helpers import registry_state

from artforge.chain.network import ChainTarget
from artforge.config import MAX_ENV_NAME_LENGTH, check_env_name
from artforge.errors import UsageError

HEX_KEY = "ab" * 32  # 64 hex digits that happen to start with a letter: a valid-looking name
RANDOM_KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
PREFIXED_KEY = "0x" + RANDOM_KEY
PASSPHRASE = "correct horse battery staple"
SECRETS = [HEX_KEY, RANDOM_KEY, PREFIXED_KEY, PASSPHRASE, "pass\nphrase"]
USAGE = 2


@pytest.fixture
def cli(isolated_home: Path, art, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A home with one registered work; returns what the commands below need."""
    monkeypatch.delenv("ARTFORGE_PASSPHRASE", raising=False)
    assert run("init", "--no-encrypt").exit_code == 0
    image = art(1)
    work_id = run("register", image, "--license", "CC0-1.0").stdout.strip()
    return {"image": str(image), "work": work_id}


def _commands(cli: dict, tmp_path: Path) -> dict[str, list[str]]:
    """Every command that takes --passphrase-env or --key-env, with its other arguments well formed; the
    value under test goes where {} is."""
    image, work = cli["image"], cli["work"]
    return {
        "init": ["init", "--passphrase-env", "{}"],
        "keys create": ["keys", "create", "other", "--passphrase-env", "{}"],
        "register": ["register", image, "--license", "CC0-1.0", "--passphrase-env", "{}"],
        "license grant": ["license", "grant", work, "--to", "Acme", "--terms", "posters", "--passphrase-env", "{}"],
        "transfer": ["transfer", work, "--to", "ff" * 32, "--passphrase-env", "{}"],
        "log checkpoint": ["log", "checkpoint", "--passphrase-env", "{}"],
        "export": ["export", work, "--bundle", str(tmp_path / "b.json"), "--passphrase-env", "{}"],
        "generate --register": ["generate", str(tmp_path / "none.pt"), "--register", "--license", "CC0-1.0",
                                "--passphrase-env", "{}"],
        "mint --rpc": ["mint", image, "--rpc", "http://127.0.0.1:9", "--key-env", "{}"],
        "mint --chain local": ["mint", image, "--chain", "local", "--key-env", "{}"],
        "chain deploy": ["chain", "deploy", "--key-env", "{}"],
        "chain deploy --rpc": ["chain", "deploy", "--rpc", "http://127.0.0.1:9", "--key-env", "{}"],
    }


COMMANDS = ["init", "keys create", "register", "license grant", "transfer", "log checkpoint", "export",
            "generate --register", "mint --rpc", "mint --chain local", "chain deploy", "chain deploy --rpc"]


@pytest.mark.parametrize("secret", SECRETS, ids=["hex-key", "random-key", "0x-key", "passphrase", "newline"])
@pytest.mark.parametrize("name", COMMANDS)
def test_a_secret_given_as_a_name_is_refused_unechoed(cli: dict, tmp_path: Path, isolated_home: Path,
                                                      name: str, secret: str) -> None:
    before = registry_state(isolated_home)
    argv = [secret if arg == "{}" else arg for arg in _commands(cli, tmp_path)[name]]
    for json_flag in ([], ["--json"]):
        result = run(*argv, *json_flag)
        assert result.exit_code == USAGE, (result.exit_code, result.stderr)
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "environment variable" in result.stderr and "not shown" in result.stderr
        for shown in (result.stdout, result.stderr):
            assert secret not in shown
            assert RANDOM_KEY[:16] not in shown and "ab" * 8 not in shown and "horse" not in shown
    assert registry_state(isolated_home) == before


@pytest.mark.parametrize("name", ["register", "license grant", "transfer", "keys create"])
def test_an_unset_valid_name_still_says_which(cli: dict, tmp_path: Path, name: str) -> None:
    argv = [arg.replace("{}", "ARTFORGE_TEST_UNSET") for arg in _commands(cli, tmp_path)[name]]
    if name in ("register", "license grant", "transfer"):
        # The default key is unencrypted: its passphrase is never asked for, so an unset variable is fine.
        assert run(*argv).exit_code == 0
    else:
        result = run(*argv)
        assert result.exit_code == USAGE and "ARTFORGE_TEST_UNSET is not set" in result.stderr


def test_unset_key_env_keeps_its_exit_code(cli: dict, tmp_path: Path) -> None:
    result = run(*[arg.replace("{}", "ARTFORGE_TEST_UNSET") for arg in _commands(cli, tmp_path)["mint --rpc"]])
    assert result.exit_code == 7 and "ARTFORGE_TEST_UNSET is not set" in result.stderr


def test_check_env_name() -> None:
    for name in ("MINTER_KEY", "_x", "a", "ARTFORGE_PASSPHRASE", "DEADBEEF", "Z" * MAX_ENV_NAME_LENGTH):
        assert check_env_name(name, "--key-env") == name
    for value in ("", "1ABC", "A B", "x\n", "Z" * (MAX_ENV_NAME_LENGTH + 1), HEX_KEY, "ab" * 16, "x=y", "é"):
        with pytest.raises(UsageError) as caught:
            check_env_name(value, "--key-env")
        assert value not in str(caught.value) or value == ""
    with pytest.raises(UsageError):
        ChainTarget("rpc", "http://127.0.0.1:9", HEX_KEY)  # however the target is made


# --- RPC URLs ---------------------------------------------------------------------------------------------

SECRET_PATH, SECRET_QUERY = "v3/PATHSECRET", "QUERYSECRET"


class _NodeThatFails(BaseHTTPRequestHandler):
    """Answers eth_chainId (so the command connects), then fails every other call with HTTP 500, whose
    error from requests quotes the whole URL ("500 Server Error: ... for url: http://...")."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if request.get("method") == "eth_chainId":
            body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0x539"}).encode()
            self.send_response(200)
        else:
            body = b"down"
            self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def failing_node() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NodeThatFails)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://user:USERSECRET@127.0.0.1:{server.server_address[1]}/{SECRET_PATH}?key={SECRET_QUERY}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", [["chain", "deploy"], ["mint", "{image}"]])
def test_a_node_failing_mid_command_is_named_without_url_secrets(cli: dict, failing_node: str, monkeypatch,
                                                                 command: list[str]) -> None:
    monkeypatch.setenv("ARTFORGE_TEST_KEY", PREFIXED_KEY)
    argv = [arg.format(**cli) for arg in command]
    result = run(*argv, "--rpc", failing_node, "--key-env", "ARTFORGE_TEST_KEY")
    assert result.exit_code == 13, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    for secret in ("PATHSECRET", SECRET_QUERY, "USERSECRET", RANDOM_KEY):
        assert secret not in result.stderr + result.stdout


def test_a_port_that_is_no_port_is_not_quoted(cli: dict, monkeypatch) -> None:
    monkeypatch.setenv("ARTFORGE_TEST_KEY", PREFIXED_KEY)
    result = run("chain", "deploy", "--rpc", "http://127.0.0.1:PORTSECRET/x", "--key-env", "ARTFORGE_TEST_KEY")
    assert result.exit_code == USAGE and "PORTSECRET" not in result.stderr
    assert ChainTarget("rpc", "http://127.0.0.1:PORTSECRET/x").label == "http://127.0.0.1"


def test_an_rpc_url_given_to_chain_is_not_quoted(cli: dict) -> None:
    result = run("mint", cli["image"], "--chain", "https://rpc.example/v3/PATHSECRET")
    assert result.exit_code == USAGE and "unknown chain" in result.stderr and "PATHSECRET" not in result.stderr
    assert "'moon'" in run("mint", cli["image"], "--chain", "moon").stderr  # a plain word is quoted back


def test_an_unexpected_error_never_prints_a_url_or_a_key() -> None:
    from artforge.cli.output import _redacted

    key = "4f" * 32
    text = _redacted(f"boom at https://rpc.example/v3/SECRETAPIKEY?x=1 with {key}, record ab12")
    assert "SECRETAPIKEY" not in text and key not in text and text.count("<redacted>") == 2
    assert text.endswith("record ab12")
