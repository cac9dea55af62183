"""Connecting to a chain and sending transactions: the in-process chain, the local node, or any RPC URL.

web3 costs ~1-2 s to import, so it is imported here, inside functions, and nothing on the CLI's start-up
path imports this module's callers eagerly.  Every transaction is signed locally by the session's account
(eth-account), whichever chain it goes to, so one code path is tested everywhere.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit

from artforge.config import check_env_name
from artforge.errors import (
    ChainError,
    ChainExtraMissing,
    ChainUnreachable,
    SigningKeyError,
    TransactionRejected,
    UsageError,
)

CHAIN_KINDS = ("memory", "local", "rpc")
RECEIPT_TIMEOUT_S = 120
RPC_TIMEOUT_S = 10
_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


@dataclass(frozen=True)
class ChainTarget:
    """Which chain a command talks to: ``memory`` (in-process), ``local`` (artforge's anvil) or ``rpc``."""

    kind: str = "memory"
    rpc_url: str | None = None
    key_env: str | None = None  # name of the environment variable holding the hex private key

    def __post_init__(self) -> None:
        if self.key_env is not None:  # checked however the target is made; a key given here is never shown
            check_env_name(self.key_env, "`key_env`")

    @classmethod
    def from_options(cls, chain: str | None, rpc_url: str | None, key_env: str | None) -> "ChainTarget":
        """Check the ``--chain`` / ``--rpc`` / ``--key-env`` combination."""
        if rpc_url and chain not in (None, "rpc"):
            raise UsageError("give either `chain` or `rpc`, not both")
        kind = "rpc" if rpc_url else (chain or "memory")
        if kind not in CHAIN_KINDS or (kind == "rpc" and not rpc_url):
            # A word is quoted back; anything else may be an RPC URL with its API key, given to the wrong option.
            shown = f" {kind!r}" if re.fullmatch(r"[A-Za-z0-9_-]{1,32}", kind) else ""
            raise UsageError(f"unknown chain{shown}: use `chain=memory`, `chain=local` or `rpc=URL`")
        if kind == "rpc":
            parts = urlsplit(rpc_url)
            if parts.scheme not in ("http", "https") or not parts.hostname or _port(parts) is False:
                raise UsageError("`rpc` takes an http(s) URL, e.g. http://127.0.0.1:8545")
            if not key_env:
                raise UsageError("`rpc` needs `key_env=NAME`: the environment variable holding the signing key")
        if key_env and kind == "memory":
            raise UsageError("`key_env` is for `chain=local` or `rpc`; the in-process chain has its own accounts")
        return cls(kind, rpc_url, key_env)

    @property
    def label(self) -> str:
        """Where the chain is, safe to print: an RPC URL loses its path, query and credentials (API keys)."""
        if self.kind != "rpc":
            return {"memory": "in-process chain", "local": "local node"}[self.kind]
        parts = urlsplit(self.rpc_url or "")
        port = _port(parts)
        return f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}"


def _port(parts: SplitResult) -> int | None | Literal[False]:
    """The URL's port; None when it has none, False when it is not a port (urllib's error would quote it)."""
    try:
        return parts.port
    except ValueError:
        return False


def _http_provider(url: str, label: str) -> Any:
    """web3's HTTP provider, except that a failed request is :class:`ChainUnreachable` naming only ``label``.

    requests quotes the whole URL in its errors ("Max retries exceeded with url: /v3/<API key>"), and those
    reached messages: a node gone after the first call made ``prepare`` report one as a revert reason.
    """
    from web3 import Web3

    class QuietHTTPProvider(Web3.HTTPProvider):
        def make_request(self, method: Any, params: Any) -> Any:
            try:
                return super().make_request(method, params)
            except OSError as exc:  # requests' RequestException is one: refused, reset, timed out, HTTP 4xx/5xx
                raise ChainUnreachable(f"no EVM node answers at {label} ({type(exc).__name__})") from None

    return QuietHTTPProvider(url, request_kwargs={"timeout": RPC_TIMEOUT_S})


@dataclass
class ChainSession:
    """An open connection: web3, the signing account, and which chain it really is."""

    target: ChainTarget
    w3: Any
    account: Any  # eth_account LocalAccount; its key never leaves this object
    chain_id: int
    # What this session has learnt: contracts whose code it checked (by address) and, for the in-process
    # chain, which the registry does not record, its deployment and token rows.
    contracts: dict[str, Any] = field(default_factory=dict, repr=False)
    memory_deployment: Any = field(default=None, repr=False)
    memory_tokens: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @property
    def persistent(self) -> bool:
        """False for the in-process chain, which ends with the process: nothing about it is recorded."""
        return self.target.kind != "memory"

    @property
    def address(self) -> str:
        return self.account.address

    def __repr__(self) -> str:  # the account holds the private key: never show it
        return f"ChainSession({self.target.label}, chain_id={self.chain_id})"


def check_address(value: str, what: str = "address") -> str:
    """A 0x-prefixed 20-byte address, returned in checksum form; a clear error otherwise."""
    require_chain_extra()
    from eth_utils import is_checksum_address, to_checksum_address

    if not _ADDRESS.match(value or ""):
        raise UsageError(f"{what} {value!r} is not an address (0x and 40 hex digits)")
    if value != value.lower() and value[2:] != value[2:].upper() and not is_checksum_address(value):
        raise UsageError(f"{what} {value} has a wrong checksum (mixed case that does not match EIP-55)")
    return to_checksum_address(value)


def _key_from_env(name: str) -> bytes:
    value = os.environ.get(name)
    if value is None:
        raise SigningKeyError(f"environment variable {name} is not set (it should hold the signing key)")
    value = value.strip()
    if not _HEX_KEY.match(value):
        # Never echo the value: it may be a real key with a typo.
        raise SigningKeyError(f"environment variable {name} does not hold a private key (64 hex digits)")
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def require_chain_extra(memory: bool = False) -> None:
    """Raise :class:`ChainExtraMissing` unless web3 (and, for the in-process chain, eth-tester) can be imported.

    They are the optional extra ``artforge[chain]``: everything but talking to a chain runs without them.
    """
    try:
        import web3  # noqa: F401
        if memory:
            import eth_tester  # noqa: F401
    except ImportError as exc:
        raise ChainExtraMissing(f"talking to a chain needs the optional extra ({exc.name} is not installed): "
                                'pip install "artforge[chain]"') from None


def connect(target: ChainTarget, local_url: str | None = None, default_key: bytes | None = None) -> ChainSession:
    """Open ``target``: the in-process chain, or the node at ``local_url`` / ``target.rpc_url``.

    ``default_key`` signs when no ``--key-env`` is given (the local node's well-known dev account).
    """
    require_chain_extra(memory=target.kind == "memory")
    from eth_account import Account
    from web3 import Web3

    if target.kind == "memory":
        from eth_tester.backends.pyevm.main import get_default_account_keys
        from web3 import EthereumTesterProvider

        w3 = Web3(EthereumTesterProvider())
        key = get_default_account_keys()[0].to_bytes()  # funded at genesis
    else:
        url = local_url if target.kind == "local" else target.rpc_url
        w3 = Web3(_http_provider(url, target.label))
        key = _key_from_env(target.key_env) if target.key_env else default_key
        if key is None:
            raise UsageError("no signing key: give `key_env=NAME`")
    account = Account.from_key(key)
    try:
        chain_id = int(w3.eth.chain_id)
    except ChainUnreachable:
        raise
    except Exception as exc:  # noqa: BLE001 - connection failures come in many types; all mean "unreachable"
        raise ChainUnreachable(f"no EVM node answers at {target.label} ({_reason(exc)})") from None
    return ChainSession(target, w3, account, chain_id)


def _hex(value: str) -> str:
    return value if value.startswith("0x") else "0x" + value


def _reason(exc: BaseException) -> str:
    # Only a node's own error reply is quoted; connection errors quote the URL, whose path or query may hold
    # an API key, so of those only the kind is kept.
    from web3.exceptions import Web3RPCError

    if isinstance(exc, Web3RPCError):
        message = exc.rpc_response.get("error", {}).get("message") if isinstance(exc.rpc_response, dict) else None
        return " ".join(str(message or exc.message or "").split())[:160] or type(exc).__name__
    return type(exc).__name__


def error_names(abi: list[dict]) -> dict[str, str]:
    """Custom error selectors (``0x`` + 8 hex) to names, for readable revert messages."""
    from eth_utils import function_signature_to_4byte_selector

    names = {}
    for entry in abi:
        if entry.get("type") == "error":
            signature = f"{entry['name']}({','.join(i['type'] for i in entry.get('inputs', []))})"
            names["0x" + function_signature_to_4byte_selector(signature).hex()] = entry["name"]
    return names


def _revert_data(exc: BaseException) -> bytes | None:
    """The revert's return data: web3 gives it as hex in ``exc.data``; eth-tester inside its message."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and re.fullmatch(r"0x[0-9a-fA-F]*", data):
        return bytes.fromhex(data[2:])
    text = str(exc.args[0]) if exc.args else ""
    if isinstance(exc.args[0] if exc.args else None, bytes):
        return exc.args[0]
    found = re.search(r"(b'.*'|b\".*\")$", text)
    if found:
        try:
            value = ast.literal_eval(found.group(1))
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None
    return None


def revert_reason(exc: BaseException, abi: list[dict]) -> str:
    """What a revert said, by custom error name when the ABI knows it."""
    data = _revert_data(exc)
    if data and len(data) >= 4:
        name = error_names(abi).get("0x" + data[:4].hex())
        if name:
            return name
    message = " ".join(str(exc).split())
    return message[:200] or type(exc).__name__


@dataclass(frozen=True)
class PreparedTransaction:
    """A signed transaction, not yet sent; its hash is known before it goes out."""

    raw: bytes
    tx_hash: str
    max_cost_wei: int


def prepare(session: ChainSession, call: Any, abi: list[dict], what: str) -> PreparedTransaction:
    """Estimate, check funds, and sign a contract call or deployment; raises on a revert or too little ETH.

    Nothing is sent: a revert found here leaves no trace on the chain or in the registry.
    """
    w3 = session.w3
    try:
        tx = call.build_transaction({
            "from": session.address, "chainId": session.chain_id,
            "nonce": w3.eth.get_transaction_count(session.address, "pending"),
        })
    except ChainUnreachable:  # the node went away: not a revert
        raise
    except Exception as exc:  # noqa: BLE001 - reverts arrive as several web3/eth-tester types
        reason = revert_reason(exc, abi)
        if "insufficient funds" in reason.lower():
            raise TransactionRejected(f"{what}: insufficient funds in {session.address}") from None
        raise TransactionRejected(f"{what} would revert: {reason}") from None
    fee = tx.get("maxFeePerGas", tx.get("gasPrice", 0))
    max_cost = int(tx["gas"]) * int(fee) + int(tx.get("value", 0))
    balance = w3.eth.get_balance(session.address)
    if balance < max_cost:
        raise TransactionRejected(
            f"{what}: insufficient funds in {session.address} (balance {balance / 1e18:.6f} ETH, "
            f"the transaction may cost up to {max_cost / 1e18:.6f} ETH)")
    signed = session.account.sign_transaction(tx)
    return PreparedTransaction(bytes(signed.raw_transaction), _hex(signed.hash.hex()), max_cost)


def send(session: ChainSession, prepared: PreparedTransaction, what: str) -> Any:
    """Send a prepared transaction and wait for its receipt (which may say it reverted: status 0)."""
    broadcast(session, prepared, what)
    return wait_for_receipt(session, prepared.tx_hash, what)


def broadcast(session: ChainSession, prepared: PreparedTransaction, what: str) -> None:
    """Hand a prepared transaction to the node; :class:`TransactionRejected` when the node refuses it."""
    from web3.exceptions import Web3RPCError

    try:
        session.w3.eth.send_raw_transaction(prepared.raw)
    except (Web3RPCError, ValueError) as exc:  # the node answered "no": nothing was sent
        raise TransactionRejected(f"{what}: the node refused the transaction ({_reason(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - no answer: it may or may not have gone out
        raise ChainError(f"{what}: transaction {prepared.tx_hash} may have been sent ({_reason(exc)}); "
                         f"run the command again to pick it up") from None


def wait_for_receipt(session: ChainSession, tx_hash: str, what: str) -> Any:
    """The receipt of a sent transaction, waiting up to ``RECEIPT_TIMEOUT_S``."""
    try:
        return session.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - timeout or a dropped connection: the outcome is unknown
        raise ChainError(f"{what}: transaction {tx_hash} was sent but no receipt came "
                         f"({_reason(exc)}); run the command again to pick it up") from None


def receipt_of(session: ChainSession, tx_hash: str) -> Any | None:
    """The receipt of a transaction sent earlier, or None if the chain has not mined (or never saw) it."""
    from web3.exceptions import TransactionNotFound

    try:
        return session.w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None
