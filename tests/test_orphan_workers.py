"""``kill -9`` of a batch leaves no worker behind.

``register`` and ``verify`` analyse images on a process pool.  A parent killed by SIGKILL runs no clean-up,
and its forked workers hold both ends of the pool's pipes, so they never saw EOF and waited for work for
ever.  They must now die with their parent.  Real processes throughout, found through /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import run

from artforge.generation.procedural import draw_art
from artforge.provenance.fingerprints import default_workers

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")


def _children(pid: int) -> set[int]:
    """Live processes whose parent is ``pid`` (from /proc/*/status, no psutil)."""
    found = set()
    for entry in Path("/proc").iterdir():
        status = _parent_and_state(int(entry.name)) if entry.name.isdigit() else None
        if status is not None and status[0] == pid and status[1] != "Z":
            found.add(int(entry.name))
    return found


def _parent_and_state(pid: int) -> tuple[int, str] | None:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:  # gone already
        return None
    fields = dict(line.split(":\t", 1) for line in lines if ":\t" in line)
    return int(fields["PPid"]), fields["State"].split()[0]


def _alive(pid: int) -> bool:
    status = _parent_and_state(pid)
    return status is not None and status[1] != "Z"  # a zombie is dead, waiting only to be reaped


def _wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.slow
@pytest.mark.skipif(default_workers() < 2, reason="one core: register runs without a pool")
def test_pool_workers_die_with_a_killed_register(isolated_home: Path, tmp_path: Path) -> None:
    assert run("init", "--no-encrypt").exit_code == 0
    folder = tmp_path / "many"
    folder.mkdir()
    paths = []
    for seed in range(200):
        paths.append(folder / f"{seed}.png")
        draw_art(seed, (320, 240)).save(paths[-1])
    parent = subprocess.Popen([sys.executable, "-m", "artforge", "register", *map(str, paths), "-l", "CC0-1.0"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    workers: set[int] = set()
    try:
        assert _wait_until(lambda: len(_children(parent.pid)) >= default_workers(), 120), \
            "the register never started its pool"
        workers = _children(parent.pid)
        assert parent.poll() is None, "register finished before it could be killed: give it more images"
        os.kill(parent.pid, signal.SIGKILL)  # the parent only, not its process group
        parent.wait(timeout=300)
        assert _wait_until(lambda: not any(_alive(pid) for pid in workers), 120), \
            f"workers outlived their parent: {sorted(pid for pid in workers if _alive(pid))}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for pid in workers:  # only if the test failed: leave no orphan behind
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# The fallback where PR_SET_PDEATHSIG is missing (macOS): a thread in the worker polls its parent.
WATCHED_CHILD = """
import os, sys, time
from artforge.provenance.fingerprints import _watch_parent
parent = os.getpid()
child = os.fork()
if child == 0:
    _watch_parent(parent)  # returns never: os._exit once the parent is gone
    os._exit(3)
print(child, flush=True)
time.sleep(60)
"""


def test_the_polling_fallback_ends_an_orphan() -> None:
    process = subprocess.Popen([sys.executable, "-c", WATCHED_CHILD], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    child = int(process.stdout.readline())
    try:
        assert _alive(child)
        process.kill()
        process.wait()
        assert _wait_until(lambda: not _alive(child), 120), "the watched child outlived its parent"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
