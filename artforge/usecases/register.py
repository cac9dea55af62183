"""Registering images: fingerprint, sign a provenance record, index it; all or nothing per batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from artforge.errors import UsageError
from artforge.matching import layer_store, mark_store
from artforge.matching.digest import layers_digest
from artforge.matching.index_file import sync_index
from artforge.matching.matcher import Analysed, analyse_for_registration
from artforge.provenance.fingerprints import Fingerprint, Progress, analyse_all
from artforge.provenance.records import PRIVATE_LICENCE_ID, ProvenanceRecord, WorkInfo, sign_payload
from artforge.registry import sealed_store
from artforge.registry.database import Registry
from artforge.registry.licence_catalogue import Licence
from artforge.textutil import clean_text
from artforge.usecases import access, private_works
from artforge.usecases.home import Home

MAX_TITLE_LENGTH = 500


@dataclass(frozen=True)
class RegisteredWork:
    """The outcome of registering one image."""

    path: str
    work_id: str  # the id of the registration record
    title: str
    licence_id: str
    owner_key_id: str
    created: bool  # False when these pixels were already registered by this key
    fingerprint: Fingerprint
    # With --watermark: the image the marked copy (``path``) was made from, its mark and the copy's PSNR (dB).
    source: str | None = None
    mark: dict | None = None
    psnr: float | None = None
    private: bool = False  # the title, licence and thumbnail are sealed (the record shows neither)

    def to_dict(self) -> dict:
        marked = {} if self.mark is None else {"source": self.source, "watermark": {**self.mark, "psnr": self.psnr}}
        return {
            "path": self.path,
            "work_id": self.work_id,
            "record_id": self.work_id,
            "title": self.title,
            "licence": self.licence_id,
            "owner_key_id": self.owner_key_id,
            "created": self.created,
            "private": self.private,
            "pixel_sha256": self.fingerprint.pixel_sha256,
            **marked,
        }


def clean_title(title: str) -> str:
    """A title as stored: cleaned of control characters, at most ``MAX_TITLE_LENGTH`` characters."""
    return clean_text(title, "title", MAX_TITLE_LENGTH)


def checked_licence(registry: Registry, licence_id: str) -> Licence:
    """A licence a work may be registered under (the private placeholder comes only with ``private``)."""
    if licence_id == PRIVATE_LICENCE_ID:
        raise UsageError(f"{PRIVATE_LICENCE_ID} is what a private work's record shows: register it privately "
                         "under its real licence instead")
    return registry.licence(licence_id)


def checked_title(title: str | None, images: int) -> str | None:
    """The cleaned title for a batch of ``images`` images; a title names one image, and a batch is not empty."""
    if not images:
        raise UsageError("no images given")
    if title is None:
        return None
    if images > 1:
        raise UsageError("`title` names one image; register several without it (titles default to file names)")
    return clean_title(title)


def register_analysed(
    registry: Registry,
    home: Home,
    items: Sequence[tuple[str, Analysed, str] | tuple[str, Analysed, str, dict]],
    *,
    licence_id: str,
    key_name: str | None = None,
    parents: Sequence[str] = (),
    origin: dict | None = None,
    marks: dict[str, dict] | None = None,
    private: bool = False,
    readers: Sequence[str] = (),
) -> list[RegisteredWork]:
    """Register already-analysed images (see :func:`analyse_for_registration`) in one transaction.

    Each item is ``(path, analysed, title)`` or ``(path, analysed, title, origin)``; an item's own
    origin (e.g. a generated image's generator details) overrides ``origin``.  ``marks`` gives, by path, the
    ``{"scheme", "id"}`` of the invisible mark an image carries (signed with it).  With ``private``, each
    work's title, licence and thumbnail are sealed for its owner, the registry's admins and ``readers`` (and the
    thumbnail for its verifiers: usecases/private_works.py).  The matcher's index file is brought up to date
    afterwards when enough has been added since it was written.
    """
    licence = checked_licence(registry, licence_id)
    if readers and not private:
        raise UsageError("readers are named for private works only")
    parent_ids = [registry.resolve_record(parent) for parent in parents]
    signer = home.signer(key_name)
    key_info = home.keystore.find_by_key_id(signer.key_id)
    results: list[RegisteredWork] = []
    with registry.transaction():
        access.require(registry, signer.key_id, "register")
        named = private_works.named_readers(home, registry, list(readers)) if private else {}
        public_licence = registry.licence(PRIVATE_LICENCE_ID) if private else licence  # what the record shows
        key_named = False
        for path, analysed, title, *own_origin in items:
            fingerprint = analysed.fingerprint
            layers_row = {"pdq": bytes.fromhex(fingerprint.pdq), **analysed.layers.to_row()}
            item_origin = own_origin[0] if own_origin else origin
            existing = [w for w in registry.works_with_pixels(fingerprint.pixel_sha256)
                        if w.creator_key_id == signer.key_id]
            if existing:
                work = existing[0]
                results.append(RegisteredWork(path, work.id, work.title, work.licence_id, work.owner_key_id,
                                              False, fingerprint, private=work.licence_id == PRIVATE_LICENCE_ID))
                continue
            sealed = None
            if private:  # the thumbnail is sealed before the layers digest is taken: the record signs the sealed bytes
                sealed = private_works.seal_registration(registry, signer, fingerprint.pixel_sha256, title, licence,
                                                         layers_row["thumbnail"], named)
                layers_row["thumbnail"] = sealed.thumbnail
            record = ProvenanceRecord(
                work=WorkInfo(
                    title="" if sealed else title,
                    file_sha256=fingerprint.file_sha256,
                    pixel_sha256=fingerprint.pixel_sha256,
                    width=fingerprint.width,
                    height=fingerprint.height,
                    fingerprints=fingerprint.to_dict(),
                    match_layers=layers_digest(layers_row),  # the matcher's evidence, signed with the work
                    watermark=(marks or {}).get(path),
                ),
                licence_id=public_licence.id,
                licence_terms=public_licence.terms.to_dict(),
                origin=item_origin or {"type": "registered"},
                parents=tuple(parent_ids),
                private=sealed.commitment if sealed else None,
            )
            signed = sign_payload(record.payload(), signer)
            if not key_named:  # the key's first new record in this batch: make sure its name is signed
                key_named = True
                registry.remember_identity(signer.key_id, signer.public_key.hex(), signed.payload["created_at"])
                registry.name_identity(signer, key_info.name if key_info else (signer.name or None))
            work = registry.insert_work(signed, fingerprint, title=record.work.title, licence_id=public_licence.id,
                                        origin=record.origin, parents=parent_ids)
            layer_store.put_match_layers(registry, work.id, layers_row["pdq"],
                                         {name: value for name, value in layers_row.items() if name != "pdq"})
            if sealed is not None:
                sealed_store.put_sealed(registry, work.id, sealed.details)
            if record.work.watermark is not None:
                mark_store.put_mark(registry, work.id, record.work.watermark)
            results.append(RegisteredWork(path, work.id, title, licence.id, signer.key_id, True, fingerprint,
                                          private=sealed is not None))
    sync_index(registry)
    return results


def register_images(
    home: Home,
    paths: Sequence[str | Path],
    *,
    licence_id: str,
    title: str | None = None,
    key_name: str | None = None,
    parents: Sequence[str] = (),
    origin: dict | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    private: bool = False,
    readers: Sequence[str] = (),
) -> list[RegisteredWork]:
    """Register image files under a licence, signed by ``key_name`` (``progress`` is told after each image
    is analysed).

    With ``private``, titles, licences and thumbnails are sealed (:func:`register_analysed`).  Idempotent:
    pixels this key has already registered return the existing work.  Either every image
    is registered or, on any error (a bad file, an unknown licence, a locked key), none is.
    """
    title = checked_title(title, len(paths))
    path_list = [Path(p) for p in paths]
    with home.registry() as registry:
        checked_licence(registry, licence_id)  # fail on an unknown licence before any work is done
        home.signer(key_name)  # and on a missing or locked key
        analysed = analyse_all(path_list, analyse_for_registration, workers=workers, progress=progress,
                               **home.settings.image_limits)
        items = [(str(p), a, title or clean_title(p.stem)) for p, a in zip(path_list, analysed)]
        return register_analysed(registry, home, items, licence_id=licence_id, key_name=key_name,
                                 parents=parents, origin=origin, private=private, readers=readers)
