"""Verifications in words: the evidence line of a candidate, and what a batch came to (the summary after
``artforge verify -r``, see cli/verify_commands)."""

from __future__ import annotations

from dataclasses import dataclass, field

from artforge.usecases.verify import VERDICTS, Candidate, DisputeReport, VerifyFailure

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


def evidence_line(candidate: Candidate) -> str:
    """One line of why a candidate is (or is not) the original."""
    evidence = candidate.evidence
    if evidence is None:
        return f"{candidate.method} (identical {'file' if candidate.method == 'file-sha256' else 'pixels'})"
    found = {"global": f"PDQ distance {evidence.hash_distance}",
             "tone": f"tone-map distance {evidence.hash_distance}"}.get(evidence.proposed_by,
                                                                       f"{evidence.keypoint_votes} keypoint votes")
    turned = [] if evidence.dihedral == "identity" else [evidence.dihedral]
    turned += ["mirrored"] if evidence.mirrored else []
    colour = "" if evidence.colour_residual is None else f", colour residual {evidence.colour_residual:.3f}"
    colour += "" if evidence.grey_residual is None else f", grey residual {evidence.grey_residual:.3f}"
    return (f"{found}; aligned by {evidence.alignment}{' (' + ', '.join(turned) + ')' if turned else ''}; "
            f"correlation {evidence.correlation:.3f}, agreement {evidence.agreement:.2f}, "
            f"shows {evidence.coverage:.0%} of the original{colour}; score {evidence.score:.3f}, "
            f"false-match estimate {evidence.false_match_probability:.1g}")
