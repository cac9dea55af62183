"""``artforge verify``: which registered work is this disputed image, and what may be done with it?

1. Exact copies are found by file hash, then by pixel hash (a re-encode of the same pixels).
2. Otherwise the layered matcher (:mod:`artforge.matching`) proposes candidates from the persistent index
   (PDQ with its 8 dihedral variants over the frame and the content box; ORB keypoints of the query and its
   mirror) and decides each by warping the query onto the candidate's thumbnail and comparing pixels.
3. The verdict: ``exact-copy``, ``modified-copy`` (an edited copy: re-encoded, resized, cropped, padded,
   turned, recoloured within an affine colour map, captioned), ``derived-work`` (the original is clearly
   in it, but only part of it, or recoloured, or inside a larger picture), ``ambiguous`` (two registered
   works match equally well, or the match rests on too little information: plain bands, a symmetric
   badge, whose unrelated look-alikes pass the same check; see :mod:`artforge.matching.calibration`) or
   ``no-match``.

Images too small or too plain for perceptual matching (long side under ``MIN_MATCH_SIDE`` px, or no
structure: pixel spread under ``MIN_CONTRAST``) are matched exactly only, and the report
says so: a blank canvas must not match every other blank canvas.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from artforge.chain.tokens import LiveReader
from artforge.errors import ArtforgeError, BadInput, ExitCode, UsageError
from artforge.imaging import ImageSource, LoadedImage
from artforge.matching import calibration as cal
from artforge.matching import layer_store
from artforge.matching.diffimage import render_diff, write_diff
from artforge.matching.index import MatchIndex
from artforge.matching.index_file import open_index
from artforge.matching.information import describe_information
from artforge.matching.layers import QueryLayers
from artforge.matching.mark_store import has_marks
from artforge.matching.matcher import Analysed, Evidence, LayeredMatcher, analyse_query
from artforge.matching.watermark import MarkReading, read_mark
from artforge.provenance.c2pa_manifest import CredentialsReading, mime_of
from artforge.provenance.fingerprints import ExactPrint, analyse_files
from artforge.registry import sealed_store
from artforge.registry.database import Registry
from artforge.usecases.credentials import read_credentials
from artforge.usecases.home import Home
from artforge.usecases.private_works import Keyring, open_thumbnail, thumbnail_unsealer
from artforge.usecases.show import REGISTRY_TAMPERED, WorkDetails, with_token_owners, work_details
from artforge.usecases.signed_evidence import SignedEvidence
from artforge.usecases.verify_credentials import CredentialsFinding, credentials_finding, credentials_notes
from artforge.usecases.verify_marks import WatermarkFinding, find_watermark, settled_by_mark, watermark_notes

MIN_CONTRAST = 2.0  # grey-level std under which an image is blank for matching purposes
MIN_MATCH_SIDE = 24
MAX_CANDIDATES = 5

VERDICTS = ("exact-copy", "modified-copy", "derived-work", "ambiguous", "no-match")


@dataclass(frozen=True)
class Candidate:
    """A registered work that may be the original, with the evidence."""

    work_id: str
    method: str  # "file-sha256", "pixel-sha256" or "layered"
    score: float  # 1.0 for exact matches; the decision score otherwise
    kind: str | None  # "exact-copy", "modified-copy", "derived-work", or None (compared, not a match)
    evidence: Evidence | None = None

    def to_dict(self) -> dict:
        return {"work_id": self.work_id, "method": self.method, "score": round(self.score, 4), "kind": self.kind,
                "evidence": self.evidence.to_dict() if self.evidence else None}


@dataclass
class DisputeReport:
    """Everything a dispute needs about one image."""

    path: str
    verdict: str
    fingerprint: ExactPrint
    candidates: list[Candidate]
    match: Candidate | None = None
    details: WorkDetails | None = None
    notes: list[str] = field(default_factory=list)
    registry_problems: list[str] = field(default_factory=list)  # rows found disagreeing with signed records
    diff_path: str | None = None
    watermark: WatermarkFinding | None = None  # only where the registry holds marked works (verify_marks.py)
    credentials: CredentialsFinding | None = None  # only for a file carrying Content Credentials
    compared: QueryLayers | None = field(default=None, repr=False, compare=False)  # what the candidates saw

    @property
    def signature_valid(self) -> bool | None:
        return None if self.details is None else self.details.chain_valid

    @property
    def status(self) -> str | None:
        """The matched work's status (``valid``, ``signature-invalid``, ``registry-tampered``), or
        ``registry-tampered`` when rows met on the way disagreed with their records; None otherwise."""
        if self.details is not None and self.details.status != "valid":
            return self.details.status
        if self.registry_problems:
            return REGISTRY_TAMPERED
        return None if self.details is None else self.details.status

    @property
    def exit_code(self) -> ExitCode:
        if self.signature_valid is False:
            return ExitCode.SIGNATURE_INVALID
        if self.status == REGISTRY_TAMPERED:
            return ExitCode.REGISTRY_TAMPERED
        if self.verdict == "no-match":
            return ExitCode.NO_MATCH
        if self.verdict == "ambiguous":
            return ExitCode.AMBIGUOUS
        return ExitCode.OK

    def to_dict(self) -> dict:
        details = self.details.to_dict() if self.details else None
        return {
            "path": self.path,
            "verdict": self.verdict,
            "match": self.match.to_dict() if self.match else None,
            "candidates": [c.to_dict() for c in self.candidates],
            "signature_valid": self.signature_valid,
            "status": self.status,
            "registry_problems": self.registry_problems,
            "work": details,
            "fingerprint": {"file_sha256": self.fingerprint.file_sha256,
                            "pixel_sha256": self.fingerprint.pixel_sha256,
                            "pdq_quality": self.fingerprint.pdq_quality},
            "notes": self.notes,
            "diff": self.diff_path,
            **({"watermark": self.watermark.to_dict()} if self.watermark else {}),
            **({"content_credentials": self.credentials.to_dict()} if self.credentials else {}),
        }


def _exact_candidates(registry: Registry, fingerprint: ExactPrint, signed: SignedEvidence) -> list[Candidate]:
    exact = [Candidate(w.id, "file-sha256", 1.0, "exact-copy") for w in registry.works_with_file(fingerprint.file_sha256)
             if signed.exact(w.id, "file_sha256", fingerprint.file_sha256)]
    seen = {c.work_id for c in exact}
    exact += [Candidate(w.id, "pixel-sha256", 1.0, "exact-copy")
              for w in registry.works_with_pixels(fingerprint.pixel_sha256)
              if w.id not in seen and signed.exact(w.id, "pixel_sha256", fingerprint.pixel_sha256)]
    return exact


def matchable(fingerprint: ExactPrint, query: QueryLayers) -> str | None:
    """Why an image cannot be matched perceptually, or None when it can."""
    if max(fingerprint.width, fingerprint.height) < MIN_MATCH_SIDE:
        return f"image is under {MIN_MATCH_SIDE} px; only exact copies are found"
    if float(query.work.std()) < MIN_CONTRAST:
        return "image has too little structure for perceptual matching; only exact copies are found"
    return None


def _layered_candidates(registry: Registry, query: QueryLayers, matcher: LayeredMatcher) -> list[Candidate]:
    return [Candidate(e.work_id, "layered", e.score, e.kind, e) for e in matcher.evidence(registry, query)
            ][:MAX_CANDIDATES]


def decide(registry: Registry, path: str, analysed: Analysed, matcher: LayeredMatcher,
           mark: MarkReading | None = None, credentials: CredentialsReading | None = None,
           keyring: Keyring | None = None, open_private: bool = False) -> DisputeReport:
    """Find candidates for one analysed image, turn them into a verdict, attach the matched work's details.

    Only evidence that the candidates' signed records vouch for is used (:class:`SignedEvidence`).  ``mark``:
    the image read for a watermark at full size, where the registry holds marked works (see verify_marks);
    ``credentials``: the file's Content Credentials, read where it carries some (see verify_credentials).
    ``keyring``: this home's keys, which open private works' sealed thumbnails for comparing (and with
    ``open_private`` their sealed title and licence for the report).
    """
    fingerprint, query = analysed.fingerprint, analysed.layers
    assert isinstance(query, QueryLayers)
    report = DisputeReport(path=path, verdict="no-match", fingerprint=fingerprint, candidates=[])
    if analysed.frames > 1:
        report.notes.append(f"animated or multi-frame file: its first of {analysed.frames} frames was compared")
    signed = SignedEvidence(registry)
    unopened: list[str] = []  # private works proposed whose thumbnails no key here opens
    matcher.admit = signed.layers
    matcher.unseal = thumbnail_unsealer(registry, keyring or Keyring(None), unopened, signed.registration)
    try:
        _find(registry, report, analysed, matcher, signed, keyring if open_private else None)
    finally:
        matcher.admit = matcher.unseal = None
    if unopened and report.match is None:
        report.notes.append(f"{len(unopened)} private work(s) were proposed but not compared: no key of this home "
                            f"opens their thumbnails ({', '.join(w[:12] for w in unopened)}; ask their owners "
                            "or the registry's admin to share them with a verifier key)")
    report.watermark = find_watermark(registry, report.compared or query, signed.registration, report.match, mark)
    settled = settled_by_mark(report.watermark, report.verdict, report.candidates)
    if settled is not None:  # works that match alike (a marked copy and its original): the mark names one
        report.notes.append(f"the image carries the invisible mark of {settled.work_id[:12]}, one of the works "
                            "that match alike: it is the original")
        _accept(registry, report, settled, keyring if open_private else None)
        report.watermark = find_watermark(registry, report.compared or query, signed.registration, report.match,
                                          mark)
    report.credentials = credentials_finding(credentials, report.match)
    report.notes += watermark_notes(report.watermark, report.match) + credentials_notes(report.credentials)
    report.notes += signed.unsigned  # an older registry, not an edited one
    report.registry_problems = signed.problems
    return report


def _find(registry: Registry, report: DisputeReport, analysed: Analysed, matcher: LayeredMatcher,
          signed: SignedEvidence, keyring: Keyring | None) -> None:
    fingerprint, query = analysed.fingerprint, analysed.layers
    candidates = _exact_candidates(registry, fingerprint, signed)
    if not candidates:
        reason = matchable(fingerprint, query)
        if reason:
            report.notes.append(reason)
        else:
            candidates, report.compared = _layered_candidates(registry, query, matcher), query
            if query.as_given is not None:
                if not any(c.kind for c in candidates):  # straightened wrongly?  Try the image as it came
                    as_given = _layered_candidates(registry, query.as_given, matcher)
                    if any(c.kind for c in as_given):
                        candidates, report.compared = as_given, query.as_given
                if report.compared is query:
                    report.notes.append(f"turned by {query.straightened:.1f} degrees with filled corners: "
                                        "compared upright, without the corners")
    report.candidates = candidates
    matches = [c for c in candidates if c.kind is not None]
    if not matches:
        return
    best = matches[0]
    rivals = [c for c in matches[1:] if c.work_id != best.work_id and best.score - c.score <= cal.AMBIGUITY_MARGIN]
    if rivals:
        report.verdict = "ambiguous"
        report.notes.append(f"{len(rivals) + 1} registered works match equally well")
        return
    evidence = best.evidence
    if evidence is not None and (cal.too_little_information(evidence.bits, evidence.detailed_cells)
                                 or evidence.false_match_probability > cal.MAX_CONFIDENT_FALSE_MATCH):
        # The pixels agree, but on too little to tell this work from unrelated ones like it.
        report.verdict = "ambiguous"
        report.notes.append(
            "too little information for a confident match: the compared part of the original has "
            + describe_information(evidence.regions, evidence.flat_share, evidence.symmetry, evidence.detailed_cells,
                                   evidence.inliers, evidence.bits)
            + "; plain art like this is made independently, so the match cannot name one work "
            f"(false-match estimate {evidence.false_match_probability:.2g})")
        return
    _accept(registry, report, best, keyring)


def _accept(registry: Registry, report: DisputeReport, best: Candidate, keyring: Keyring | None = None) -> None:
    """Make ``best`` the report's match: its verdict, and its work's signed details (a private work's sealed
    ones too where ``keyring`` opens them)."""
    report.verdict = best.kind or "no-match"
    report.match = best
    report.details = work_details(registry, best.work_id, keyring)
    if report.details.private:
        report.notes.append(report.details.contact_line())
    if not report.details.chain_valid:
        report.notes.append("the matched work's signature or record chain does not verify")
    elif report.details.registry_problems:
        report.notes.append("the registry's rows about the matched work disagree with its signed records: "
                            "what is shown is what the records say")


@dataclass(frozen=True)
class VerifyFailure:
    """An image that could not be verified (unreadable, refused), in a streamed batch."""

    path: str
    error: ArtforgeError


def diff_target(diff: Path, image: Path, batch: bool) -> Path:
    """Where ``--diff`` writes an image's picture: the path itself for one image, else ``<dir>/<stem>.diff.png``."""
    if not batch and diff.suffix.lower() == ".png":
        return diff
    return diff / f"{image.stem}.diff.png"


def _write_diff(registry: Registry, report: DisputeReport, query: QueryLayers, out: Path, keyring: Keyring) -> None:
    row = layer_store.match_layers_of(registry, report.match.work_id) if report.match else None
    if row is None or not row.get("version"):
        report.notes.append("no diff: the matched work has no stored thumbnail (run 'artforge index rebuild --images')")
        return
    thumbnail = open_thumbnail(registry, keyring, row)
    if thumbnail is None:
        report.notes.append("no diff: the matched work is private and no key of this home opens its thumbnail")
        return
    evidence = report.match.evidence
    picture = render_diff(query, thumbnail, np.array(evidence.matrix) if evidence else None,
                          dihedral=evidence.dihedral if evidence else "identity",
                          mirrored=evidence.mirrored if evidence else False, caption=report.verdict)
    report.diff_path = str(write_diff(picture, out))


@dataclass
class _BatchContext:
    """What each process of a batch needs to verify an image on its own: set before the workers fork, so
    they share the index the parent loaded instead of each loading it."""

    home: Home
    index: MatchIndex
    parent: int  # the process that set it up; its own comparisons may use threads, a worker's may not
    keep_compared: bool  # send the compared layers back (for --diff); they are heavy to pickle otherwise
    marked: bool = False  # the registry holds watermarked works: read each image for a mark at full size
    registry: Registry | None = None  # this process's own connection, opened at its first image
    matcher: LayeredMatcher | None = None
    open_private: bool = True  # show private works' sealed title and licence where a key of the home opens them
    keyring: Keyring = field(default_factory=lambda: Keyring(None))  # the home's keys, for private works


_BATCH: _BatchContext | None = None


class _DecisionFailed(Exception):
    """A registry or matcher error while deciding, carried out of a worker to be raised as itself."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def _verify_loaded(loaded: LoadedImage) -> DisputeReport | _DecisionFailed:
    """One image's whole verify (analysis, candidates, decision) in the process that loaded it."""
    context = _BATCH
    assert context is not None, "set by iter_verify"
    analysed = analyse_query(loaded)  # an unreadable image raises here: the batch reports it and goes on
    mark = read_mark(np.asarray(loaded.rgb())) if context.marked else None
    try:
        credentials = read_credentials(context.home, loaded.data or b"", mime_of(loaded.source_format))
        if context.registry is None:
            context.registry = context.home.registry()
            context.matcher = LayeredMatcher(context.index, threads=None if os.getpid() == context.parent else 1)
        report = decide(context.registry, "", analysed, context.matcher, mark, credentials, context.keyring,
                        context.open_private)
    except Exception as error:  # noqa: BLE001 - not the image's fault: iter_verify raises it
        return _DecisionFailed(error)
    report.compared = (report.compared or analysed.layers) if context.keep_compared else None
    return report


def iter_verify(home: Home, paths: Sequence[ImageSource], *, workers: int | None = None,
                index: MatchIndex | None = None, diff: Path | None = None, rpc_url: str | None = None,
                page: Path | None = None, open_private: bool = True) -> Iterator[DisputeReport | VerifyFailure]:
    """A dispute report per image, in input order, as each is ready.

    A batch runs on ``workers`` processes (default: all cores), each verifying whole images: analysis and
    decision, over the one index this process loaded (shared by fork), so both cores stay busy.  A bad
    file yields a :class:`VerifyFailure` and the batch goes on.  Nothing is written to the registry; with
    ``diff``, a side-by-side picture of each matched image is written (see :func:`diff_target`).  A matched
    work's tokens are read from their chains when those answer (``rpc_url`` for an RPC chain).  With ``page``
    (one image), the report is also written there as an HTML page (:mod:`artforge.usecases.dispute_page`).
    The home's keys open private works' sealed thumbnails for comparing, and (unless ``open_private`` is
    False, as in the HTTP service) their sealed title and licence for the report.
    """
    if page is not None and len(paths) != 1:
        raise UsageError("an HTML report page is written for one image at a time")
    global _BATCH
    sources = list(paths)
    tokens = LiveReader(home.settings.home, rpc_url)
    with home.registry() as registry:
        _BATCH = _BatchContext(home, index if index is not None else open_index(registry), os.getpid(),
                               keep_compared=diff is not None or page is not None, marked=has_marks(registry),
                               open_private=open_private, keyring=Keyring(home))
        if len(sources) > 1 and sealed_store.any_sealed(registry):
            _BATCH.keyring.load_all()  # before the workers fork: a locked key is unlocked once, here
        try:
            for path, result in analyse_files(sources, _verify_loaded, workers=workers, **home.settings.image_limits):
                if isinstance(result, _DecisionFailed):
                    raise result.error
                if isinstance(result, ArtforgeError):
                    yield VerifyFailure(str(path), result)
                elif isinstance(result, Exception):
                    yield VerifyFailure(str(path), BadInput(f"{path}: cannot analyse ({type(result).__name__}: {result})"))
                else:
                    result.path = str(path)
                    if result.details is not None:
                        result.details = with_token_owners(result.details, tokens)
                    if diff is not None and result.match is not None and result.compared is not None:
                        _write_diff(registry, result, result.compared, diff_target(diff, path, len(sources) > 1),
                                    _BATCH.keyring)
                    if page is not None:
                        from artforge.usecases.dispute_page import write_page

                        write_page(home, result, path, page)
                    yield result
        finally:
            if _BATCH is not None and _BATCH.registry is not None:
                _BATCH.registry.close()
            _BATCH = None


def verify_images(home: Home, paths: Sequence[ImageSource], *, workers: int | None = None,
                  page: Path | None = None) -> list[DisputeReport]:
    """Dispute reports for every image, or the first bad file's error (nothing is written but ``page``)."""
    reports = []
    for item in iter_verify(home, paths, workers=workers, page=page):
        if isinstance(item, VerifyFailure):
            raise item.error
        reports.append(item)
    return reports
