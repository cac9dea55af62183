"""DistributedDataParallel on the CPU (gloo): two real processes train one model in lock-step."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch.multiprocessing as mp

from artforge.generation.model_checkpoint import load_checkpoint


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str, queue) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    import torch

    from artforge.generation.training import TrainConfig, Trainer

    torch.set_num_threads(1)
    config = TrainConfig(model="dcgan", data="builtin:digits", image_size=16, batch_size=16, steps=4, out=out,
                         data_limit=64, model_options={"g_width": 8, "d_width": 8}, sample_every=100,
                         checkpoint_every=100)
    trainer = Trainer(config)
    before = _digest(trainer.recipe.g)
    trainer.fit()
    queue.put((rank, before, _digest(trainer.recipe.g), _digest(trainer.recipe.d)))
    torch.distributed.destroy_process_group()


def _digest(module) -> str:
    digest = hashlib.sha256()
    # Parameters only: BatchNorm running statistics are per process by design (DDP re-broadcasts them
    # from rank 0 at each forward).
    for tensor in module.parameters():
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_two_processes_stay_in_sync(tmp_path: Path) -> None:
    context = mp.get_context("spawn")
    queue = context.Queue()
    port = _free_port()
    processes = [context.Process(target=_worker, args=(rank, 2, port, str(tmp_path / "run"), queue)) for rank in range(2)]
    for process in processes:
        process.start()
    results = sorted(queue.get(timeout=600) for _ in processes)
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    (_, before0, g0, d0), (_, before1, g1, d1) = results
    # Each process draws other noise and other images (per-rank seeds, sharded batches), so without
    # DDP's gradient averaging the two copies would drift apart after the first step.
    assert before0 == before1  # DDP broadcast rank 0's weights at start
    assert (g0, d0) == (g1, d1)  # and every averaged step kept them identical
    assert g0 != before0
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "ckpt-00000004.pt").step == 4


@pytest.mark.slow
def test_torchrun_launches_the_cli(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "artforge", "train", "--data", "builtin:digits", "--size", "16", "--batch-size", "16",
               "--steps", "3", "--width", "8", "--data-limit", "64", "--out", str(tmp_path / "run"), "--json", "-q"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    envelopes = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(envelopes) == 1 and '"step": 3' in envelopes[0]  # only rank 0 reports
    assert (tmp_path / "run" / "checkpoints" / "ckpt-00000003.pt").exists()
