"""What a batch of verifications came to, for the summary after ``artforge verify -r`` (see cli/verify_commands)."""

from __future__ import annotations

from dataclasses import dataclass, field

from artforge.usecases.verify import VERDICTS, DisputeReport, VerifyFailure

VERDICT_ORDER = (*VERDICTS, "failed")  # the summary's order: a file that could not be read last


@dataclass
class VerifyTally:
    """What a batch of verifications came to: images per verdict, the slowest, the failures."""

    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    timings: list[tuple[float, str]] = field(default_factory=list)  # (seconds, path) of each image
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def add(self, item: DisputeReport | VerifyFailure, seconds: float) -> None:
        """Count one result, and the seconds the batch waited for it."""
        verdict = "failed" if isinstance(item, VerifyFailure) else item.verdict
        self.counts[verdict] = self.counts.get(verdict, 0) + 1
        self.seconds += seconds
        self.timings.append((seconds, item.path))
        if isinstance(item, VerifyFailure):
            self.failures.append((item.path, str(item.error)))

    def lines(self, slowest: int = 3, failures: int = 10) -> list[str]:
        """The summary in a few lines for a person."""
        total = sum(self.counts.values())
        order = [v for v in VERDICT_ORDER if v in self.counts] + sorted(set(self.counts) - set(VERDICT_ORDER))
        shown = [f"verified {total} image{'s' * (total != 1)} in {self.seconds:.1f} s: "
                 + ", ".join(f"{self.counts[v]} {v}" for v in order)]
        worst = sorted(self.timings, reverse=True)[:slowest]
        shown.append("slowest: " + ", ".join(f"{path} {seconds:.2f} s" for seconds, path in worst))
        shown += [f"failed: {reason}" for _, reason in self.failures[:failures]]
        if len(self.failures) > failures:
            shown.append(f"failed: ... and {len(self.failures) - failures} more")
        return shown
