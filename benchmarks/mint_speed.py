"""Minting speed: artforge's mint vs a bare web3 loop, on the in-process chain and on anvil.

Measures, in the same run and on the same chain:

* baseline: the least a script must do per token: build the ``mint`` call (web3 estimates gas), sign it
  locally, send it and wait for the receipt; a constant URI and a counter as the record hash;
* artforge: :func:`artforge.usecases.mint.mint_work` per registered work, on one open session: load the
  image, check the record chain, owner and licence, build the metadata and both CIDs, write the metadata
  file, ask the contract whether the record has a token, estimate, sign, record the row as pending, send,
  wait, record it as minted (the registry rows only on anvil: the in-process chain is not recorded);
* artforge again on the same works: the idempotent path (the token is found, nothing is sent);
* the CLI: ``artforge mint`` in a fresh process per token, a few times (start-up and web3 import
  included).

Run from the repository root (anvil from ``make anvil``, ``$ARTFORGE_ANVIL`` or PATH; skipped without it):

    .venv/bin/python benchmarks/mint_speed.py               # 40 works per chain
    .venv/bin/python benchmarks/mint_speed.py --works 10 --out /tmp/mint.json

Results are printed and written as JSON (default ``benchmarks/results/mint_speed.json``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results, write_images  # noqa: E402

from artforge.chain import localnode  # noqa: E402
from artforge.chain.contract import deploy, deploy_and_record  # noqa: E402
from artforge.chain.network import ChainSession, ChainTarget, connect, prepare, send  # noqa: E402
from artforge.config import Settings  # noqa: E402
from artforge.errors import ChainError  # noqa: E402
from artforge.usecases.chain_setup import open_session  # noqa: E402
from artforge.usecases.home import Home, init_home  # noqa: E402
from artforge.usecases.mint import MintRequest, mint_work  # noqa: E402
from artforge.usecases.register import register_images  # noqa: E402

REPO_ANVIL = Path(__file__).resolve().parents[1] / "tools" / "anvil" / "node_modules" / ".bin" / "anvil"


def baseline(session: ChainSession, count: int) -> float:
    """Seconds for ``count`` bare mints on a fresh contract of the session's chain."""
    contract = session.w3.eth.contract(address=deploy(session).address, abi=_abi())
    start = time.perf_counter()
    for i in range(count):
        record = hashlib.sha256(f"baseline-{i}".encode()).digest()
        call = contract.functions.mint(session.address, "ipfs://bafkrei-constant", session.address, 500, record)
        receipt = send(session, prepare(session, call, contract.abi, "mint"), "mint")
        assert receipt["status"] == 1
    return time.perf_counter() - start


def _abi() -> list[dict]:
    from artforge.chain.artifact import load_artifact

    return load_artifact().abi


def artforge_mints(home: Home, images: list[Path], target: ChainTarget, session: ChainSession) -> tuple[float, list]:
    start = time.perf_counter()
    results = [mint_work(home, MintRequest(str(path)), target, session=session) for path in images]
    return time.perf_counter() - start, results


def cli_mints(home: Path, images: list[Path], chain: str) -> float:
    """Mean seconds per ``artforge mint`` in a fresh process (the in-process chain deploys each time)."""
    env = {**os.environ, "ARTFORGE_HOME": str(home)}
    times = []
    for path in images:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "artforge", "mint", str(path), "--chain", chain, "-q"],
                       check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return sum(times) / len(times)


def run_chain(name: str, home: Home, images: list[Path], target: ChainTarget, session: ChainSession,
              cli_images: list[Path]) -> list[dict[str, Any]]:
    n = len(images)
    base = baseline(session, n)
    first, results = artforge_mints(home, images, target, session)
    assert all(r.created for r in results) and len({r.token.token_id for r in results}) == n
    again, repeated = artforge_mints(home, images, target, session)
    assert not any(r.created for r in repeated)
    rows = [
        {"chain": name, "method": "baseline (bare web3: estimate, sign, send, receipt)", "mints": n,
         "seconds": base, "per_s": n / base, "ratio": 1.0},
        {"chain": name, "method": "artforge mint_work (metadata, CIDs, checks, registry)", "mints": n,
         "seconds": first, "per_s": n / first, "ratio": base / first},
        {"chain": name, "method": "artforge mint_work again (idempotent: found, not sent)", "mints": n,
         "seconds": again, "per_s": n / again, "ratio": base / again},
    ]
    if cli_images:
        per = cli_mints(home.settings.home, cli_images, target.kind)
        rows.append({"chain": name, "method": "artforge mint CLI, one process per token", "mints": len(cli_images),
                     "seconds": per * len(cli_images), "per_s": 1 / per, "ratio": (base / n) / per})
    return rows


def main() -> None:
    parser = bench_parser(__doc__, "mint_speed")
    parser.add_argument("--works", type=int, default=40, help="Works minted per chain (default 40).")
    parser.add_argument("--cli", type=int, default=3, help="Mints through the CLI per chain (default 3).")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="artforge-mint-") as tmp:
        root = Path(tmp)
        home = Home(settings=Settings(home=root / "home"))
        init_home(home)
        os.environ["ARTFORGE_HOME"] = str(home.settings.home)
        total = 2 * (args.works + args.cli)
        images = write_images(root / "images", range(total), 256, 512)
        register_images(home, images, licence_id="CC-BY-4.0")
        per_chain = args.works + args.cli
        memory_images, local_images = images[:per_chain], images[per_chain:]

        rows = run_chain("memory", home, memory_images[:args.works], ChainTarget("memory"),
                         connect(ChainTarget("memory")), memory_images[args.works:])
        anvil = os.environ.get("ARTFORGE_ANVIL") or (str(REPO_ANVIL) if REPO_ANVIL.exists() else None)
        if anvil:
            os.environ["ARTFORGE_ANVIL"] = anvil
        try:
            node, _ = localnode.start(home.settings.home, _free_port())
        except ChainError as exc:
            print(f"anvil: skipped ({exc})", file=sys.stderr)
            node = None
        if node is not None:
            try:
                target = ChainTarget("local")
                session = open_session(home, target)
                with home.registry() as registry:
                    deploy_and_record(registry, session)
                rows += run_chain("anvil", home, local_images[:args.works], target, session,
                                  local_images[args.works:])
            finally:
                localnode.stop(home.settings.home)

    ratio_note = "ratio = baseline time / this time (below 1: slower than the bare loop)"
    print_table(f"Mints per second ({ratio_note})", ["chain", "method", "mints", "seconds", "mints/s", "ratio"],
                [[r["chain"], r["method"], r["mints"], round(r["seconds"], 3), round(r["per_s"], 2),
                  round(r["ratio"], 3)] for r in rows])
    save_results(args.out, "mint_speed", {"works": args.works, "rows": rows})


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
