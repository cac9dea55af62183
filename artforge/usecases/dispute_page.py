"""``artforge verify IMAGE --report report.html``: one self-contained HTML page a person can read and print.

The page holds the verdict in plain words, the original and the disputed image side by side with the matched
region outlined, a difference overlay, owner, licence and terms in plain language, the signed history with
each record's inclusion proof in the transparency log, the watermark and Content Credentials findings, and
the commands that check all of it again offline.  Images are inline (``data:`` URIs); the page makes no
request of its own.  It is rendered by a Jinja2 template with escaping on: every title, name and note comes
from a registry or a file and is shown as text, never as markup.
"""

from __future__ import annotations

import base64
import io
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from PIL import Image

from artforge.errors import ArtforgeError
from artforge.fsutil import write_output
from artforge.imaging import ImageBytes, ImageSource, load_image
from artforge.matching import layer_store
from artforge.matching.diffimage import difference_overlay, render_diff
from artforge.matching.layers import resize_long_side
from artforge.provenance.records import utc_now
from artforge.registry import transparency_log as translog
from artforge.usecases.home import Home
from artforge.usecases.private_works import Keyring, open_thumbnail
from artforge.usecases.verify import DisputeReport
from artforge.usecases.verify_summary import evidence_line
from artforge.version import __version__

PREVIEW_SIDE = 360  # px: the disputed image as shown on the page
_TDM = {"allowed": "yes", "notAllowed": "no", "constrained": "only under conditions"}


@dataclass(frozen=True)
class LogEntry:
    """One record of the matched work and where it stands in the transparency log."""

    record_id: str
    type: str
    created_at: str
    signer: str
    summary: str
    proof: str  # what the inclusion proof says, in words


def _inline(image: Image.Image, kind: str = "JPEG") -> str:
    """A ``data:`` URI of the picture: JPEG for photographs (small, fast), PNG for the drawn overlay."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, kind, **({"quality": 88} if kind == "JPEG" else {}))
    return f"data:image/{kind.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def _verdict_words(report: DisputeReport) -> str:
    work = report.details.work if report.details else None
    title = f"“{report.details.display_title}”" if work else "a registered work"
    owner = report.details.owner.name or report.details.owner.key_id[:12] if report.details else None
    words = {
        "exact-copy": f"This image is an exact copy of {title}, owned by {owner}.",
        "modified-copy": f"This image is a modified copy of {title}, owned by {owner}: "
                         "the same picture after edits such as re-encoding, resizing, cropping or colour changes.",
        "derived-work": f"This image contains {title}, owned by {owner}, or a recoloured part of it.",
        "ambiguous": "This image matches registered works, but not one of them clearly: see the notes.",
        "no-match": "No registered work matches this image.",
    }
    return words.get(report.verdict, report.verdict)


def _terms(report: DisputeReport) -> list[tuple[str, str]]:
    if report.details is None:
        return []
    licence = report.details.licence
    terms = licence.terms
    rows = [
        ("Licence", f"{licence.id} — {licence.name}"),
        ("May it be used commercially?", "yes" if terms.commercial else "no"),
        ("May it be changed or adapted?", "yes" if terms.derivatives else "no"),
        ("Must adaptations use the same licence?", "yes" if terms.share_alike else "no"),
        ("Must the creator be credited?", "yes" if terms.attribution else "no"),
        ("May it be used to train AI?", _TDM.get(terms.ai_training, terms.ai_training)),
        ("May it be used to train generative AI?", _TDM.get(terms.ai_generative_training, terms.ai_generative_training)),
        ("May it be text- and data-mined?", _TDM.get(terms.data_mining, terms.data_mining)),
    ]
    if terms.constraint_info:
        rows.append(("Conditions", terms.constraint_info))
    rows += [("Granted", f"{g.grantee}: {g.terms} (until {g.until or 'no end date'})")
             for g in report.details.active_grants]
    return rows


def _log_entries(home: Home, report: DisputeReport) -> list[LogEntry]:
    if report.details is None:
        return []
    entries = []
    with home.registry() as registry:
        for entry in report.details.history:
            try:
                proof = translog.prove_inclusion(registry.db, entry.record_id)
                said = (f"leaf {proof.index} of a tree of {proof.tree_size}: the inclusion proof verifies against "
                        f"the checkpoint signed by log key {proof.checkpoint.key_id[:12]}")
            except ArtforgeError as error:
                said = str(error)
            entries.append(LogEntry(entry.record_id, entry.type, entry.created_at,
                                    entry.signer.name or entry.signer.key_id[:12], entry.summary, said))
    return entries


def _pictures(home: Home, report: DisputeReport, image: ImageSource) -> dict[str, str]:
    if isinstance(image, ImageBytes):
        loaded = load_image(image.data, name=image.name, **home.settings.image_limits)
    else:
        loaded = load_image(image, **home.settings.image_limits)
    pictures = {"disputed": _inline(Image.fromarray(resize_long_side(np.asarray(loaded.rgb()), PREVIEW_SIDE)))}
    if report.match is None or report.compared is None:
        return pictures
    with home.registry() as registry:
        row = layer_store.match_layers_of(registry, report.match.work_id)
        thumbnail = open_thumbnail(registry, Keyring(home), row) if row is not None else None
    if not thumbnail:  # none stored, or a private work's that no key of this home opens
        return pictures
    evidence = report.match.evidence
    matrix = np.array(evidence.matrix) if evidence else None
    options = {"dihedral": evidence.dihedral if evidence else "identity", "mirrored": evidence.mirrored if evidence else False}
    pictures["side_by_side"] = _inline(render_diff(report.compared, thumbnail, matrix, caption=report.verdict, **options))
    pictures["overlay"] = _inline(difference_overlay(report.compared, thumbnail, matrix, **options), "PNG")
    return pictures


def _commands(report: DisputeReport, image: ImageSource) -> list[str]:
    quoted = "IMAGE" if isinstance(image, ImageBytes) else shlex.quote(str(image))
    commands = [f"artforge verify {quoted} --json"]
    if report.details is not None:
        work_id = report.details.work.id
        commands += [f"artforge export {work_id} --bundle {work_id[:12]}.json",
                     f"python -m artforge.verify_bundle {work_id[:12]}.json",
                     f"artforge history {work_id}"]
    commands.append("artforge audit")
    return commands


def render_page(home: Home, report: DisputeReport, image: ImageSource) -> str:
    """The HTML of one dispute report (``report`` from ``iter_verify`` with the compared layers kept)."""
    environment = Environment(loader=PackageLoader("artforge", "templates"), autoescape=select_autoescape(["html"]))
    return environment.get_template("dispute_report.html").render(
        report=report, verdict_words=_verdict_words(report), terms=_terms(report), log=_log_entries(home, report),
        pictures=_pictures(home, report, image), commands=_commands(report, image),
        evidence=evidence_line(report.match) if report.match else None,
        made_at=utc_now(), version=__version__,
        image_name=image.name if isinstance(image, ImageBytes) else Path(image).name)


def write_page(home: Home, report: DisputeReport, image: ImageSource, out: Path) -> Path:
    """Write the page for one report (write-then-rename)."""
    return write_output(out, render_page(home, report, image).encode())
