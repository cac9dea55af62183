"""Content Credentials (C2PA): ``export WORK --c2pa OUT``, ``register --c2pa-out DIR``, and reading them in ``verify``.

Each home has its own certificate authority (a key of the home's own, encrypted like the log key, under
``c2pa/ca-key/``; its certificate ``c2pa/ca.pem``) that issues each identity a certificate for the identity's
own Ed25519 key (``c2pa/certs/<key id>.pem``).  A manifest artforge writes is therefore *trusted* by this
home's ``verify`` and by any C2PA reader given ``ca.pem`` as a trust anchor, and merely *valid* (the signature
holds, the signer is unknown) elsewhere: ``ca.pem`` is not on any public trust list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from artforge.errors import BadInput, InvalidRecord, UsageError
from artforge.fsutil import atomic_write, read_regular_file, write_output
from artforge.imaging import image_format, load_image, pixel_sha256
from artforge.provenance import c2pa_manifest, x509_chain
from artforge.provenance.keys import KeyStore, Signer
from artforge.provenance.records import check_chain
from artforge.registry.database import Registry
from artforge.usecases.home import Home
from artforge.usecases.register import RegisteredWork, register_images
from artforge.usecases.show import work_details
from artforge.usecases.watermarking import register_watermarked

CA_KEY_NAME = "ca"


@dataclass(frozen=True)
class CredentialsExport:
    """A copy of a work's image carrying its Content Credentials."""

    work_id: str
    path: str
    signer_key_id: str
    state: str  # as this home reads the written file back: "trusted"
    ca_certificate: str  # the trust anchor to give other C2PA readers

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def trust_anchor_path(home: Home) -> Path:
    return home.settings.credentials_dir / "ca.pem"


def trust_anchors(home: Home) -> str | None:
    """The home CA's certificate (PEM), or None before the first export made it."""
    try:
        return trust_anchor_path(home).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _ca(home: Home) -> tuple[Signer, x509.Certificate]:
    """The CA's signer and certificate, made on first use."""
    signer = home.service_signer(KeyStore(home.settings.credentials_dir / "ca-key"), CA_KEY_NAME)
    stored = trust_anchors(home)
    if stored is not None:
        (certificate,) = x509_chain.load_pem(stored)[:1]
        if x509_chain.usable(certificate, certificate, signer.public_key, margin=dt.timedelta(days=30)):
            return signer, certificate
    certificate = x509_chain.make_ca_certificate(signer, f"artforge CA {signer.key_id[:12]}")
    atomic_write(trust_anchor_path(home), x509_chain.to_pem(certificate).encode())
    return signer, certificate


def certificate_chain(home: Home, identity: Signer, name: str) -> str:
    """PEM chain (identity certificate, then the CA's) for ``identity``; issued or renewed when needed."""
    ca_signer, ca_certificate = _ca(home)
    path = home.settings.credentials_dir / "certs" / f"{identity.key_id}.pem"
    if path.exists():
        (certificate,) = x509_chain.load_pem(path.read_bytes())[:1]
        if x509_chain.usable(certificate, ca_certificate, identity.public_key):
            return x509_chain.to_pem(certificate, ca_certificate)
    certificate = x509_chain.make_identity_certificate(ca_signer, ca_certificate, identity.public_key, name)
    atomic_write(path, x509_chain.to_pem(certificate).encode())
    return x509_chain.to_pem(certificate, ca_certificate)


def _manifest(registry: Registry, work_id: str) -> dict:
    records = registry.records(work_id)
    problems = check_chain(records) if records else ["no records"]
    if problems:
        raise InvalidRecord(f"work {work_id[:12]}: its records do not verify ({problems[0]}); no credentials written")
    details = work_details(registry, work_id)
    parents = [{"record_id": p.work_id, "title": p.title or p.work_id[:12]} for p in details.lineage]
    creator = details.creator.name or details.creator.key_id
    return c2pa_manifest.manifest_for(records[0].to_dict(), creator, parents)


def credentials_bytes(home: Home, registry: Registry, work_id: str, data: bytes, label: str,
                      key_name: str | None = None) -> bytes:
    """The image file ``data`` with the work's Content Credentials embedded; its pixels must be the work's."""
    loaded = load_image(data, name=label, **home.settings.image_limits)
    registration = registry.records(work_id)[0].payload["work"]
    if pixel_sha256(loaded.image) != registration["pixel_sha256"]:
        raise BadInput(f"{label}: not the pixels of work {work_id[:12]} (its signed pixel hash differs)")
    mime = c2pa_manifest.mime_of(loaded.source_format)
    if mime is None:
        raise BadInput(f"{label}: Content Credentials cannot be embedded in {loaded.source_format} here "
                       "(PNG, JPEG, WebP or TIFF)")
    identity = home.signer(key_name)
    name = home.keystore.find_by_key_id(identity.key_id)
    chain = certificate_chain(home, identity, name.name if name else identity.key_id)
    return c2pa_manifest.embed(_manifest(registry, work_id), data, mime, identity.sign, chain)


def export_credentials(home: Home, work: str, image: Path, out: Path, key_name: str | None = None) -> CredentialsExport:
    """Write ``image`` (the work's own pixels) to ``out`` with the work's Content Credentials, signed by ``key_name``."""
    data = read_regular_file(image, home.settings.max_file_bytes, "an image")
    with home.registry() as registry:
        work_id = registry.resolve_work_id(work)
        signed = credentials_bytes(home, registry, work_id, data, str(image), key_name)
    reading = read_credentials(home, signed, c2pa_manifest.mime_of(image_format(signed)))
    write_output(out, signed)
    return CredentialsExport(work_id, str(out), home.signer(key_name).key_id,
                             reading.state if reading else "absent", str(trust_anchor_path(home)))


def read_credentials(home: Home, data: bytes, mime: str | None) -> c2pa_manifest.CredentialsReading | None:
    """A file's Content Credentials as this home reads them (its CA trusted); None when it carries none, or is
    of a type artforge does not read them from (``mime`` None)."""
    if mime is None or not c2pa_manifest.has_manifest(data):
        return None
    return c2pa_manifest.read(data, mime, trust_anchors(home))


def register_with_credentials(home: Home, paths: Sequence[str | Path], out_dir: Path, *, watermark_dir: Path | None = None,
                              key_name: str | None = None, **register_options) -> list[RegisteredWork]:
    """Register images (marked copies, with ``watermark_dir``), then write a copy of each registered file
    carrying its Content Credentials into ``out_dir`` (same file name).

    Files that cannot carry credentials are refused before anything is registered; the copies are written
    only after the registry has committed (a failure then leaves the works registered and says which copy
    is missing: ``export --c2pa`` writes it again).
    """
    for path in paths:
        data = read_regular_file(path, home.settings.max_file_bytes, "an image")
        kind = image_format(data, str(path))  # the header is enough: registering decodes (and checks) it
        if watermark_dir is None and c2pa_manifest.mime_of(kind) is None:
            raise BadInput(f"{path}: Content Credentials cannot be embedded in {kind} here (PNG, JPEG, WebP or TIFF)")
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInput(f"{out_dir}: not a folder")
    if watermark_dir is not None:
        works = register_watermarked(home, paths, watermark_dir, key_name=key_name, **register_options)
    else:
        works = register_images(home, paths, key_name=key_name, **register_options)
    with home.registry() as registry:
        for work in works:
            source = Path(work.path)
            data = read_regular_file(source, home.settings.max_file_bytes, "an image")
            target = out_dir / source.name
            if target.resolve() == source.resolve():
                raise UsageError(f"{source}: the copy with credentials would replace it; choose another folder")
            write_output(target, credentials_bytes(home, registry, work.work_id, data, str(source), key_name))
    return works
