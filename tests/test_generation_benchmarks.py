"""The generation benchmarks run end to end at a tiny budget (their figures are measured by running them, not here):
the quality curve against the reference loop, and the lever ablation for every family."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script: str, *args: str, cwd: Path) -> None:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_quality_curve_scores_both_methods_on_both_nets(tmp_path: Path) -> None:
    out, figure = tmp_path / "curve.json", tmp_path / "curve.png"
    _run("quality_curve.py", "--checkpoints", "1,2", "--samples", "120", "--out", str(out), "--figure", str(figure),
         cwd=tmp_path)
    results = json.loads(out.read_text())
    assert [d["data"] for d in results["datasets"]] == ["builtin:digits", "builtin:shapes"]
    for dataset in results["datasets"]:
        for method in ("reference", "artforge"):
            rows = dataset[method]
            assert [r["checkpoint"] for r in rows] == [1.0, 2.0]
            # Training went on to the second checkpoint.  Checkpoints are by time, so on a loaded machine no
            # whole step may fall between them (5 and 5 steps were seen): not fewer, then.
            assert rows[1]["steps"] >= rows[0]["steps"] > 0
            assert all(r["fd"] > 0 and r["fd_b"] > 0 and 0 <= r["precision"] <= 1 for r in rows)
        assert len(dataset["ratios"]) == 2
    assert "prompt_accuracy" in results["datasets"][1]["artforge"][0]
    assert Image.open(figure).size == (1040, 360)


@pytest.mark.slow
@pytest.mark.parametrize("family, data, variants", [
    ("dcgan", "builtin:digits", "base,hinge+r1+mode-seeking"),
    ("cgan", "builtin:shapes", "base,words0.3+mode-seeking+ema-rampup"),
    ("mlpgan", "builtin:digits", "base,lr2x"),
    ("vae", "builtin:digits", "base,beta0.5"),
])
def test_lever_ablation_runs_for_every_family(tmp_path: Path, family: str, data: str, variants: str) -> None:
    out = tmp_path / "levers.json"
    _run("gan_levers.py", "--family", family, "--data", data, "--steps", "3", "--samples", "60",
         "--size", "28" if family == "mlpgan" else "32", "--variants", variants, "--out", str(out), cwd=tmp_path)
    rows = json.loads(out.read_text())["variants"]
    assert [r["variant"] for r in rows] == variants.split(",")
    assert all(r["steps"] == 3 and r["fd"] > 0 for r in rows)
