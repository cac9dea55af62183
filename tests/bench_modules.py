"""Load benchmark helper modules (benchmarks/ is not a package) for the tests that use them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str, folder: Path = BENCHMARKS) -> ModuleType:
    """<folder>/<name>.py, under the name the scripts beside it import it by."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def robust_data() -> ModuleType:
    """benchmarks/_robust_data.py: the robustness corpus."""
    return _load("_robust_data")


def faults() -> ModuleType:
    """benchmarks/_faults.py: the fault-injection harness shared with benchmarks/reliability.py."""
    return _load("_faults")


def tamper() -> ModuleType:
    """benchmarks/_tamper.py: the tamper harness shared with benchmarks/tamper.py (with _tamper_edits.py,
    which it imports by that name)."""
    _load("_tamper_edits")
    return _load("_tamper")


def bundle_verifier() -> ModuleType:
    """artforge/verify_bundle.py, the offline bundle verifier."""
    import artforge.verify_bundle

    return artforge.verify_bundle
