"""The HTTP service: requests per second and latency of POST /verify, against the CLI's per-image cost.

The registry is the whole-verify benchmark's (``_whole_verify.build_registry``: the robustness corpus's
originals planted among procedural fillers, N works, cached under ``--home-cache``), and so are the queries
(edited originals, which must be found, and distractors, which must not).  For each worker count,
``artforge serve --workers W`` runs as its own process; after a warm-up, every query is sent once by
``--concurrency`` client threads (httpx, a real HTTP client, keep-alive), and the benchmark reports
requests per second over the whole run and each request's latency.

The baselines, measured in the same run on the same queries:

* in-process: ``iter_verify`` one image at a time with the index held (what a worker does per request);
* the CLI: ``artforge verify IMAGE --json`` as a new process per image (``--cli-images`` of them), which is
  what a script that shells out pays.

With ``--backends sqlite,postgresql`` the same runs are made again with the registry on PostgreSQL (a
throwaway cluster, fsync on, tests/pg_server.py): the SQLite registry is moved there with ``registry copy``
(timed, and audited on both sides), and every worker, the in-process loop and the CLI read it through
``ARTFORGE_DATABASE_URL``.

    .venv/bin/python benchmarks/serve.py --works 10000
    .venv/bin/python benchmarks/serve.py --works 100000 --workers 1,2 --concurrency 4
    .venv/bin/python benchmarks/serve.py --works 10000 --backends sqlite,postgresql --cli-images 10
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _whole_verify as whole  # noqa: E402
import httpx  # noqa: E402
from _common import bench_parser, percentile, print_table, save_results  # noqa: E402

GUARD = 600.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(home: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "ARTFORGE_HOME": str(home)}
    process = subprocess.Popen([sys.executable, "-m", "artforge", "serve", "--port", str(port), "--workers",
                                str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/health", timeout=5).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the service did not start")


def _serve_run(home: Path, queries: list[dict], workers: int, concurrency: int) -> dict:
    process, base = _start(home, workers)
    try:
        with httpx.Client(timeout=GUARD) as client:
            def send(query: dict) -> tuple[float, str]:
                body = Path(query["path"]).read_bytes()
                started = time.perf_counter()
                answer = client.post(base + "/verify", content=body)
                answer.raise_for_status()
                return time.perf_counter() - started, answer.json()["data"]["verdict"]

            with ThreadPoolExecutor(concurrency) as pool:  # warm-up: every worker loads its index
                list(pool.map(send, queries[: 4 * workers]))
            started = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                results = list(pool.map(send, queries))
            wall = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=GUARD)
    latencies = [1000 * seconds for seconds, _ in results]
    found = sum(verdict in whole.FOUND for (_, verdict), q in zip(results, queries) if q["group"] == "positive")
    false = sum(verdict in whole.FOUND for (_, verdict), q in zip(results, queries) if q["group"] == "negative")
    return {"workers": workers, "concurrency": concurrency, "requests": len(results), "wall_s": wall,
            "rps": len(results) / wall, "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "found": found, "false_matches": false}


def _in_process(home_dir: Path, queries: list[dict]) -> dict:
    from artforge.config import Settings
    from artforge.matching.index_file import open_index
    from artforge.usecases.home import Home
    from artforge.usecases.verify import iter_verify

    home = Home(settings=Settings(home=home_dir))
    with home.registry() as registry:
        index = open_index(registry)
    list(iter_verify(home, [queries[0]["path"]], workers=1, index=index))
    latencies = []
    for query in queries:
        started = time.perf_counter()
        list(iter_verify(home, [query["path"]], workers=1, index=index))
        latencies.append(1000 * (time.perf_counter() - started))
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "images_per_s": 1000 * len(latencies) / sum(latencies)}


def _cli(home_dir: Path, queries: list[dict]) -> dict:
    env = {**os.environ, "ARTFORGE_HOME": str(home_dir)}
    latencies = []
    for query in queries:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "artforge", "verify", query["path"], "--json"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=GUARD)
        latencies.append(1000 * (time.perf_counter() - started))
    return {"images": len(latencies), "p50_ms": percentile(latencies, 50),
            "images_per_s": 1000 * len(latencies) / sum(latencies)}


def main() -> None:
    parser = bench_parser(__doc__, "serve")
    parser.add_argument("--works", type=int, default=10_000, help="registered works")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma-separated")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads sending at once")
    parser.add_argument("--positives", type=int, default=200, help="edited originals among the queries")
    parser.add_argument("--negatives", type=int, default=100, help="unrelated images among the queries")
    parser.add_argument("--cli-images", type=int, default=20, help="images verified by a new CLI process each")
    parser.add_argument("--home-cache", type=Path, default=Path(tempfile.gettempdir()) / "artforge-verify-scale")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backends", default="sqlite", help="sqlite, postgresql or both, comma-separated")
    args = parser.parse_args()
    folder = args.home_cache / f"whole-{args.works}"
    built = whole.build_registry(folder, args.works, 60, 120, 2, args.seed)
    queries = whole.write_queries(built, folder / "queries", args.positives, args.negatives, args.seed)
    home_dir = built["home"].settings.home
    results, rows, server = {}, [], None
    try:
        for backend in args.backends.split(","):
            copy_s = None
            if backend == "postgresql":
                server, copy_s = _registry_on_postgresql(home_dir)
            runs = [_serve_run(home_dir, queries, int(w), args.concurrency) for w in args.workers.split(",")]
            in_process = _in_process(home_dir, queries)
            cli = _cli(home_dir, queries[: args.cli_images])
            results[backend] = {"serve": runs, "in_process": in_process, "cli": cli, "copy_s": copy_s}
            rows += [[f"{backend}: serve, {r['workers']} worker(s), {r['concurrency']} clients", r["rps"], r["p50_ms"],
                      r["p99_ms"], f"{r['found']}/{args.positives}", r["false_matches"]] for r in runs]
            rows.append([f"{backend}: in-process, one at a time, index held", in_process["images_per_s"],
                         in_process["p50_ms"], in_process["p99_ms"], "-", "-"])
            rows.append([f"{backend}: CLI, a process per image ({cli['images']})", cli["images_per_s"], cli["p50_ms"],
                         float("nan"), "-", "-"])
    finally:
        os.environ.pop("ARTFORGE_DATABASE_URL", None)
        if server is not None:
            server.stop()
    print_table(f"POST /verify at {args.works:,} works, {len(queries)} queries", ["how", "images/s", "p50 ms", "p99 ms",
                                                                                  "found", "false matches"], rows)
    if results.get("postgresql"):
        print(f"registry copy of {args.works:,} works into PostgreSQL: {results['postgresql']['copy_s']:.0f} s")
    first = results[args.backends.split(",")[0]]
    save_results(args.out, "serve", {"parameters": {**vars(args), "out": str(args.out), "home_cache": str(args.home_cache)},
                                     "serve": first["serve"], "in_process": first["in_process"], "cli": first["cli"],
                                     "backends": results})


def _registry_on_postgresql(home_dir: Path):
    """A throwaway PostgreSQL cluster holding a copy of the home's registry; the environment points at it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pg_server import start_server

    from artforge.usecases.registry_copy import copy_registry

    server = start_server(durable=True)
    url = server.new_database()
    started = time.perf_counter()
    copied = copy_registry(str(home_dir / "registry.db"), url, local_dir=home_dir)
    elapsed = time.perf_counter() - started
    if not copied.ok:
        raise SystemExit(f"the copy does not audit clean: {copied.target_problems[:3]}")
    os.environ["ARTFORGE_DATABASE_URL"] = url  # the workers, the in-process loop and the CLI read it
    return server, elapsed


if __name__ == "__main__":
    main()
