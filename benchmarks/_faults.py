"""Fault injection shared by ``benchmarks/reliability.py`` and the reliability tests.

Not a benchmark itself.  Two experiments, both on real registries in a scratch folder:

* :func:`concurrent_registration`: several processes register distinct works into one registry at once;
  afterwards every work must be there once, and the log and audit must hold.
* :func:`crash_runs`: a child process runs one operation (register, grant, transfer, mint, a training
  checkpoint) and is killed with SIGKILL at a random moment inside it; afterwards the registry must open,
  pass audit with no half-written rows and no gap in the log, a killed mint must reconcile to exactly one
  token, and every training checkpoint on disk must load.

Children are forked from a parent that has imported artforge (and torch) already, so a child starts in
milliseconds and the kill lands inside the operation, not inside Python's start-up.  The parent holds no
open database while it forks.
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from artforge.config import Settings
from artforge.generation.procedural import draw_art
from artforge.usecases.audit import audit_registry
from artforge.usecases.home import Home, init_home
from artforge.usecases.licensing import grant_licence, transfer_work
from artforge.usecases.register import register_images

FORK = multiprocessing.get_context("fork")
JOIN_TIMEOUT_S = 600


def make_home(folder: Path) -> Home:
    home = Home(settings=Settings(home=folder))
    init_home(home)
    return home


def draw_images(folder: Path, seeds: Sequence[int], size: tuple[int, int] = (96, 72)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in seeds:
        path = folder / f"art-{seed:05d}.png"
        if not path.exists():
            draw_art(seed, size).save(path)
        paths.append(path)
    return paths


# -- concurrency --------------------------------------------------------------------------------------------
@dataclass
class ConcurrencyResult:
    """What several processes registering at once left behind."""

    processes: int
    expected: int
    works: int
    distinct: int
    lost: int
    duplicated: int
    log_leaves: int
    records: int
    audit_ok: bool
    audit_problems: list[str]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def _register_share(home_dir: str, paths: list[str], batch: int) -> None:
    home = Home(settings=Settings(home=Path(home_dir)))
    for start in range(0, len(paths), batch):
        register_images(home, paths[start:start + batch], licence_id="CC0-1.0", workers=1)


def concurrent_registration(root: Path, works: int = 1000, processes: int = 8, batch: int = 5,
                            seed: int = 0) -> ConcurrencyResult:
    """``processes`` processes register ``works`` distinct images (in batches of ``batch``) into one registry."""
    home = make_home(root / "home")
    images = [str(p) for p in draw_images(root / "images", range(seed, seed + works))]
    shares = [images[i::processes] for i in range(processes)]
    started = time.perf_counter()
    children = [FORK.Process(target=_register_share, args=(str(home.settings.home), share, batch))
                for share in shares]
    for child in children:
        child.start()
    for child in children:
        child.join()
    seconds = time.perf_counter() - started
    failed = [c.exitcode for c in children if c.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} registering processes failed (exit codes {failed})")
    with sqlite3.connect(home.settings.registry_path) as db:
        count = db.execute("SELECT COUNT(*) FROM works").fetchone()[0]
        distinct = db.execute("SELECT COUNT(DISTINCT pixel_sha256) FROM works").fetchone()[0]
        leaves = db.execute("SELECT COUNT(*) FROM log_leaves").fetchone()[0]
        records = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    report = audit_registry(home)
    return ConcurrencyResult(processes, works, count, distinct, works - distinct, count - distinct, leaves,
                             records, report.ok, [p.message for p in report.problems], seconds)


# -- crashes ------------------------------------------------------------------------------------------------
@dataclass
class CrashOutcome:
    """One killed operation and what was found afterwards."""

    operation: str
    delay_s: float
    finished: bool  # the operation completed before the kill landed
    opens: bool
    integrity: str
    audit_ok: bool
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.opens and self.integrity == "ok" and self.audit_ok and not self.problems

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def _run_killed(target: Callable[[], None], delay: float) -> bool:
    """Fork ``target``; SIGKILL it after ``delay`` seconds; True if it had finished by then."""
    child = FORK.Process(target=target)
    child.start()
    child.join(delay)
    finished = child.exitcode == 0
    if child.is_alive():
        child.kill()
        child.join(JOIN_TIMEOUT_S)
    return finished


def _check_registry(home: Home) -> tuple[bool, str, bool, list[str]]:
    try:
        with sqlite3.connect(home.settings.registry_path) as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            leaves = db.execute("SELECT COUNT(*), COALESCE(MAX(idx) + 1, 0) FROM log_leaves").fetchone()
            records = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
            minted_without_receipt = db.execute(
                "SELECT COUNT(*) FROM tokens WHERE status = 'minted' AND (token_id IS NULL OR block IS NULL)").fetchone()[0]
        report = audit_registry(home)
    except Exception as exc:  # noqa: BLE001 - the point is to find out whether it opens at all
        return False, f"{type(exc).__name__}: {exc}", False, []
    problems = [p.message for p in report.problems]
    if leaves[0] != leaves[1]:
        problems.append(f"log has {leaves[0]} leaves but indices up to {leaves[1]}: a gap")
    if minted_without_receipt:
        problems.append(f"{minted_without_receipt} token rows minted without a receipt")
    record_leaves = audit_records_logged(home)
    if record_leaves != records:
        problems.append(f"{records} records but {record_leaves} record leaves")
    return True, integrity, report.ok, problems


def audit_records_logged(home: Home) -> int:
    with sqlite3.connect(home.settings.registry_path) as db:
        return db.execute("SELECT COUNT(*) FROM log_leaves WHERE kind = 'record'").fetchone()[0]


def _timed(target: Callable[[], None]) -> float:
    """How long ``target`` takes in a forked child (the window the kills are spread over)."""
    child = FORK.Process(target=target)
    started = time.perf_counter()
    child.start()
    child.join(JOIN_TIMEOUT_S)
    if child.is_alive():  # a stuck child fails the run's checks instead of hanging the suite
        child.kill()
    return time.perf_counter() - started


class RegistryCrashes:
    """Kill register, grant and transfer (and mint, given a local chain) at random moments."""

    def __init__(self, root: Path, seed: int = 0, chain_port: int | None = None):
        self.root = root
        self.rng = random.Random(seed)
        self.home = make_home(root / "home")
        self.images = draw_images(root / "images", range(10_000, 10_400))
        self.next_image = 0
        self.work_ids = [w.work_id for w in register_images(self.home, self._take(6), licence_id="CC-BY-4.0",
                                                            workers=1)]
        self.chain = None
        if chain_port is not None:
            self._start_chain(chain_port)

    def _take(self, n: int) -> list[Path]:
        taken = self.images[self.next_image:self.next_image + n]
        self.next_image += n
        return taken

    def _start_chain(self, port: int) -> None:
        from artforge.chain import localnode
        from artforge.chain.network import ChainTarget
        from artforge.usecases.chain_setup import deploy_contract

        localnode.start(self.home.settings.home, port)
        deploy_contract(self.home, ChainTarget("local"))
        self.chain = ChainTarget("local")

    def stop(self) -> None:
        if self.chain is not None:
            from artforge.chain import localnode

            localnode.stop(self.home.settings.home)

    def operations(self) -> dict[str, Callable[[], Callable[[], None]]]:
        ops = {"register": self._register, "grant": self._grant, "transfer": self._transfer}
        if self.chain is not None:
            ops["mint"] = self._mint
        return ops

    def _fresh_home(self) -> Home:  # a child builds its own Home: nothing cached crosses the fork
        return Home(settings=self.home.settings)

    def _register(self) -> Callable[[], None]:
        batch = [str(p) for p in self._take(4)]
        return lambda: register_images(self._fresh_home(), batch, licence_id="CC0-1.0", workers=1)

    def _grant(self) -> Callable[[], None]:
        work = self.rng.choice(self.work_ids)
        return lambda: grant_licence(self._fresh_home(), work, "Acme", "prints")

    def _transfer(self) -> Callable[[], None]:
        work = self.rng.choice(self.work_ids)
        home = self._fresh_home()
        with home.registry() as registry:
            owner = registry.work(work).owner_key_id
        target = "studio" if owner == home.signer().key_id else "default"
        if not home.keystore.exists("studio"):
            home.keystore.create("studio")
        return lambda: transfer_work(self._fresh_home(), work, target, key_name=None)

    def _mint(self) -> Callable[[], None]:
        from artforge.usecases.mint import MintRequest, mint_work

        path = self._take(1)[0]
        register_images(self.home, [path], licence_id="CC-BY-4.0", workers=1)
        self.minted = getattr(self, "minted", []) + [path]
        return lambda: mint_work(self._fresh_home(), MintRequest(str(path)), self.chain)

    def run(self, runs: int, operations: Sequence[str] | None = None) -> list[CrashOutcome]:
        ops = self.operations()
        names = list(operations or ops)
        windows = {name: _timed(ops[name]()) for name in names}  # one unkilled run of each: its duration
        outcomes = []
        for i in range(runs):
            name = names[i % len(names)]
            delay = self.rng.uniform(0.0, 1.2 * windows[name])
            finished = _run_killed(ops[name](), delay)
            opens, integrity, audit_ok, problems = _check_registry(self.home)
            if name == "mint" and opens:
                problems += self._reconciles(self.minted[-1])
            outcomes.append(CrashOutcome(name, round(delay, 4), finished, opens, integrity, audit_ok, problems))
        return outcomes

    def _reconciles(self, path: Path) -> list[str]:
        """After a killed mint, minting again yields exactly one token for the work, recorded as minted."""
        from artforge.usecases.mint import MintRequest, mint_work

        result = mint_work(self._fresh_home(), MintRequest(str(path)), self.chain)
        with sqlite3.connect(self.home.settings.registry_path) as db:
            rows = db.execute("SELECT status, token_id FROM tokens WHERE work_id = ?", [result.token.work_id]).fetchall()
        problems = []
        if rows != [("minted", result.token.token_id)]:
            problems.append(f"after the killed mint and a rerun the token rows are {rows}")
        from artforge.chain.contract import bind
        from artforge.usecases.chain_setup import open_session

        session = open_session(self.home, self.chain)
        contract = bind(session, result.token.contract)
        owner_balance = contract.functions.balanceOf(result.token.recipient).call()
        minted_so_far = len(self.minted)
        if owner_balance != minted_so_far:
            problems.append(f"{owner_balance} tokens on chain for {minted_so_far} works minted")
        return problems


# A tiny training run, as the CLI starts it.  It runs as its own process, not a fork: a fork of a process
# whose torch (OpenMP) threads already run can deadlock in the child, and a test suite has run torch before.
TRAIN_ARGS = ["train", "--model", "dcgan", "--data", "builtin:digits", "--size", "16", "--batch-size", "16",
              "--steps", "40", "--checkpoint-every", "2", "--sample-every", "1000", "--device", "cpu", "--width", "8",
              "-q"]
TRAIN_TIMEOUT_S = 600


def _start_training(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "artforge", *TRAIN_ARGS, "--out", str(out)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def training_crashes(root: Path, runs: int = 10, seed: int = 0) -> list[CrashOutcome]:
    """Kill a tiny training run at random moments; every checkpoint left on disk must load."""
    from artforge.errors import BadInput
    from artforge.generation.model_checkpoint import CHECKPOINT_GLOB, load_checkpoint

    rng = random.Random(seed)
    started = time.perf_counter()
    _start_training(root / "timing").wait(TRAIN_TIMEOUT_S)
    window = time.perf_counter() - started  # the kills are spread over one whole run, start-up included
    outcomes = []
    for i in range(runs):
        out = root / f"run-{i}"
        delay = rng.uniform(0.0, window)
        process = _start_training(out)
        try:
            finished = process.wait(delay) == 0
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(TRAIN_TIMEOUT_S)
            finished = False
        problems = []
        for checkpoint in sorted((out / "checkpoints").glob(CHECKPOINT_GLOB)) if (out / "checkpoints").exists() else []:
            try:
                load_checkpoint(checkpoint)
            except BadInput as exc:
                problems.append(f"{checkpoint.name}: {exc}")
        outcomes.append(CrashOutcome("training", round(delay, 4), finished, True, "ok", True, problems))
    return outcomes


def summarise(outcomes: Sequence[CrashOutcome]) -> dict[str, dict]:
    """Per operation: runs, killed mid-way, and how many left a registry (or checkpoints) that failed."""
    table: dict[str, dict] = {}
    for outcome in outcomes:
        row = table.setdefault(outcome.operation, {"runs": 0, "killed": 0, "failed": 0, "problems": []})
        row["runs"] += 1
        row["killed"] += not outcome.finished
        if not outcome.ok:
            row["failed"] += 1
            row["problems"].extend(outcome.problems or [outcome.integrity])
    return table
