"""The local dev chain: an anvil node on 127.0.0.1 whose state is saved in the artforge home.

``artforge chain up`` starts it detached, ``down`` stops it by the PID it recorded (after checking that the
PID is still that anvil), ``status`` says whether it runs.  anvil dumps its state on exit and every few
seconds while it runs, and loads it on start, so tokens minted today are there tomorrow.

anvil comes from npm (``@foundry-rs/anvil``, which ships the binary); ``$ARTFORGE_ANVIL`` names it, else it
is looked up on PATH, else in this source checkout's ``tools/anvil`` (where ``make anvil`` puts it).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from artforge.chain import DEFAULT_PORT
from artforge.errors import ChainError, UsageError
from artforge.fsutil import atomic_write, ensure_private_dir
from artforge.provenance.records import utc_now

ANVIL_ENV = "ARTFORGE_ANVIL"
ANVIL_PACKAGE = "@foundry-rs/anvil@1.7.1"
LOCAL_CHAIN_ID = 31337  # anvil's own default: wallets know it as a dev chain
STATE_INTERVAL_S = 2  # how much a SIGKILL of the node can lose
START_TIMEOUT_S = 15
STOP_TIMEOUT_S = 10
# anvil's first dev account (from its public "test test ... junk" mnemonic, funded at genesis).  Public
# knowledge, for the local dev chain only: --key-env overrides it.
ANVIL_DEV_KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
# Nodes this process started, by PID: kept so that stopping one reaps it (no zombie) and so that Python
# does not warn about a child still running when the Popen object would otherwise be collected.
_STARTED: dict[int, subprocess.Popen] = {}


@dataclass(frozen=True)
class LocalNode:
    """What ``chain up`` recorded about the running node."""

    pid: int
    port: int
    url: str
    chain_id: int
    state_file: str
    log_file: str
    binary: str
    started_at: str

    def to_dict(self) -> dict:
        return asdict(self)


def node_dir(home: Path) -> Path:
    return home / "chain" / "local"


def _node_file(home: Path) -> Path:
    return node_dir(home) / "node.json"


# Where `make anvil` (run by `make test`) installs it in a source checkout, beside the package.
CHECKOUT_ANVIL = Path(__file__).resolve().parents[2] / "tools" / "anvil" / "node_modules" / ".bin" / "anvil"


def find_anvil() -> str:
    """Path of the anvil binary: ``$ARTFORGE_ANVIL``, else ``anvil`` on PATH, else the one ``make anvil``
    installed in this source checkout."""
    named = os.environ.get(ANVIL_ENV)
    found = named or shutil.which("anvil") or (str(CHECKOUT_ANVIL) if CHECKOUT_ANVIL.exists() else None)
    if not found or not Path(found).exists():
        where = f"{ANVIL_ENV}={named} does not exist" if named else "anvil is not on PATH"
        raise ChainError(f"{where}: install it with 'npm install -g {ANVIL_PACKAGE}' or set {ANVIL_ENV}")
    return _platform_binary(Path(found))


def _platform_binary(path: Path) -> str:
    # npm's `anvil` is a Node wrapper that spawns the real binary from a per-platform package.  Run that
    # binary directly, so the PID we record is anvil's own and `down` stops the node, not just the wrapper.
    wrapper = path.resolve()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    system = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system())
    if wrapper.suffix == ".mjs" and arch and system:
        real = wrapper.parent.parent / f"anvil-{system}-{arch}" / "bin" / "anvil"
        if real.exists():
            return str(real)
    return str(path)


def _alive(node: LocalNode) -> bool:
    """True when the recorded PID is still our anvil (not a recycled PID of another program)."""
    try:
        os.kill(node.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{node.pid}/cmdline")
    if cmdline.exists():
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return False
        return node.state_file.encode() in args
    return True  # no /proc (macOS): the PID answering is the best we can check


def running_node(home: Path) -> LocalNode | None:
    """The local node if it is running, else None (a stale record is ignored)."""
    path = _node_file(home)
    if not path.exists():
        return None
    try:
        node = LocalNode(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise ChainError(f"{path} is damaged ({exc}); stop anvil by hand and delete it") from None
    return node if _alive(node) else None


def _listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start(home: Path, port: int = DEFAULT_PORT) -> tuple[LocalNode, bool]:
    """Start the node unless it runs; returns it and whether it was started now."""
    node = running_node(home)
    if node is not None:
        return node, False
    if not 0 < port < 65536:
        raise UsageError(f"port {port} is out of range")
    if _listening(port):
        raise ChainError(f"port {port} on 127.0.0.1 is in use; choose another `port`")
    binary = find_anvil()
    directory = ensure_private_dir(node_dir(home))
    state, log = directory / "state.json", directory / "anvil.log"
    args = [binary, "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(LOCAL_CHAIN_ID),
            "--state", str(state), "--state-interval", str(STATE_INTERVAL_S)]
    with open(log, "ab") as log_handle:
        # A session of its own: the node outlives this command and ignores its Ctrl-C.
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log_handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    _STARTED[process.pid] = process
    node = LocalNode(pid=process.pid, port=port, url=f"http://127.0.0.1:{port}", chain_id=LOCAL_CHAIN_ID,
                     state_file=str(state), log_file=str(log), binary=binary, started_at=utc_now())
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(STOP_TIMEOUT_S)
            _STARTED.pop(process.pid, None)
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] if log.exists() else []
            raise ChainError(f"anvil did not start on port {port}" + (f": {tail[0]}" if tail else ""))
        time.sleep(0.05)
    atomic_write(_node_file(home), json.dumps(node.to_dict(), indent=2).encode(), mode=0o600)
    return node, True


def stop(home: Path) -> LocalNode | None:
    """Stop the node by its recorded PID (anvil saves its state on SIGTERM); None if it was not running."""
    node = running_node(home)
    path = _node_file(home)
    if node is None:
        path.unlink(missing_ok=True)
        return None
    os.kill(node.pid, signal.SIGTERM)
    child = _STARTED.pop(node.pid, None)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive(node) and time.monotonic() < deadline:
        if child is not None:
            child.poll()  # reaps it once it has exited
        time.sleep(0.05)
    if _alive(node):
        os.kill(node.pid, signal.SIGKILL)
    if child is not None:
        child.wait(STOP_TIMEOUT_S)
    path.unlink(missing_ok=True)
    return node
