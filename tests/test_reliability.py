"""Reliability under concurrent writers and SIGKILL at random moments (the harness is benchmarks/_faults.py,
whose figures benchmarks/reliability.py prints and docs/reliability.md records)."""

from __future__ import annotations

import pytest
from bench_modules import faults
from chain_helpers import anvil_or_skip, free_port

pytestmark = pytest.mark.slow


def test_eight_processes_register_a_thousand_works_none_lost_none_duplicated(tmp_path) -> None:
    result = faults().concurrent_registration(tmp_path, works=1000, processes=8)
    assert (result.works, result.lost, result.duplicated) == (1000, 0, 0)
    assert result.log_leaves == result.records + 1 == 1001  # and the claim that names the key
    assert result.audit_ok, result.audit_problems


def test_a_hundred_operations_killed_at_random_leave_a_registry_that_audits(tmp_path, monkeypatch) -> None:
    anvil_or_skip(monkeypatch)
    crashes = faults().RegistryCrashes(tmp_path, seed=7, chain_port=free_port())
    try:
        outcomes = crashes.run(100)
    finally:
        crashes.stop()
    failed = [o.to_dict() for o in outcomes if not o.ok]
    assert not failed, failed
    killed = {name: row["killed"] for name, row in faults().summarise(outcomes).items()}
    assert set(killed) == {"register", "grant", "transfer", "mint"}
    assert sum(killed.values()) >= 30, killed  # the kills really landed inside the operations


def test_training_killed_at_random_never_leaves_a_truncated_checkpoint(tmp_path) -> None:
    outcomes = faults().training_crashes(tmp_path, runs=8, seed=3)
    assert all(o.ok for o in outcomes), [o.to_dict() for o in outcomes if not o.ok]
    assert sum(not o.finished for o in outcomes) >= 4
