"""Start-up cost of the library and the CLI: wall time of fresh processes, median of repeats.

What a script or a marketplace pays per call before any work: ``import artforge``, ``artforge --help``, and
``fingerprint``, ``register`` and ``verify`` of one image end to end, each a new process (in an encrypted
home: signing commands unlock the key).  ``--tree`` runs
another checkout of artforge (e.g. ``git worktree add /tmp/base <rev>``) with the same interpreter, so two
versions are compared on the same machine in the same run::

    python benchmarks/startup.py --tree /tmp/base --repeats 7
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, print_table, save_results  # noqa: E402

from artforge.generation.procedural import draw_art  # noqa: E402

HERE = Path(__file__).resolve().parents[1]


def _once(args: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall time of one ``python ARGS`` process."""
    started = time.perf_counter()
    # cwd outside any checkout: `python -c` and `-m` put the cwd first on sys.path, before PYTHONPATH.
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=600, cwd=cwd)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return elapsed


def prepare(tree: Path, folder: Path, image: Path) -> dict[str, str]:
    """An encrypted home (as `artforge init` makes by default: each signing command pays for unlocking the
    key) with ``image`` registered, for the checkout at ``tree``; the environment that runs it."""
    home = folder / f"home-{len(list(folder.glob('home-*')))}"
    env = {**os.environ, "PYTHONPATH": str(tree), "ARTFORGE_HOME": str(home), "ARTFORGE_PASSPHRASE": "startup"}
    probe = subprocess.run([sys.executable, "-c", "import artforge; print(artforge.__file__)"], env=env,
                           cwd=folder, capture_output=True, text=True, check=True)
    assert Path(probe.stdout.strip()).is_relative_to(tree), f"{tree} is not the artforge that runs"
    for setup in (["init"], ["register", str(image), "--license", "CC0-1.0", "-q"]):
        subprocess.run([sys.executable, "-m", "artforge", *setup], env=env, check=True, capture_output=True, cwd=folder)
    return env


def measure(envs: list[dict[str, str]], image: Path, repeats: int, folder: Path) -> list[dict[str, float]]:
    """Median seconds per step for each environment; the trees take turns, run by run, so that both see the
    same machine (a load that comes and goes would otherwise favour one)."""
    steps = {
        "import artforge": ["-c", "import artforge"],
        "artforge --help": ["-m", "artforge", "--help"],
        "artforge fingerprint": ["-m", "artforge", "fingerprint", str(image)],
        "artforge register (again)": ["-m", "artforge", "register", str(image), "--license", "CC0-1.0", "-q"],
        "artforge verify": ["-m", "artforge", "verify", str(image)],
    }
    results: list[dict[str, float]] = [{} for _ in envs]
    for step, args in steps.items():
        times: list[list[float]] = [[] for _ in envs]
        for attempt in range(repeats + 1):  # the first round warms the OS file cache and is not counted
            for index, env in enumerate(envs):
                elapsed = _once(args, env, folder)
                if attempt:
                    times[index].append(elapsed)
        for index in range(len(envs)):
            results[index][step] = statistics.median(times[index])
    return results


def main() -> None:
    parser = bench_parser(__doc__, "startup")
    parser.add_argument("--tree", type=Path, help="Another artforge checkout to compare with (the baseline).")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        image = folder / "art.png"
        draw_art(7, (640, 480)).save(image)
        envs = [prepare(HERE, folder, image)] + ([prepare(args.tree.resolve(), folder, image)] if args.tree else [])
        measured = measure(envs, image, args.repeats, folder)
        ours, base = measured[0], (measured[1] if args.tree else None)
    rows = [{"step": step, "seconds": round(value, 3),
             "baseline_seconds": round(base[step], 3) if base else None,
             "ratio": round(value / base[step], 3) if base else None} for step, value in ours.items()]
    print_table(f"Start-up, median of {args.repeats} fresh processes" + (f" (baseline: {args.tree})" if base else ""),
                ["step", "seconds", "baseline s", "ratio"],
                [[r["step"], r["seconds"], r["baseline_seconds"] or "-", r["ratio"] or "-"] for r in rows])
    save_results(args.out, "startup", {"repeats": args.repeats, "baseline_tree": str(args.tree or ""), "rows": rows})


if __name__ == "__main__":
    main()
