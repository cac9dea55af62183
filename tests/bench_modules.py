"""Load benchmark helper modules (benchmarks/ is not a package) for the tests that share their data."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def robust_data() -> ModuleType:
    """benchmarks/_robust_data.py, under the name the benchmark scripts import it by."""
    if "_robust_data" in sys.modules:
        return sys.modules["_robust_data"]
    spec = importlib.util.spec_from_file_location("_robust_data", BENCHMARKS / "_robust_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["_robust_data"] = module
    spec.loader.exec_module(module)
    return module
