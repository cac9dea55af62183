"""The Python API: what ``from artforge import ...`` gives, one function per use case.

Each function finds the home as the CLI does (``$ARTFORGE_HOME``, else the platform's data folder) unless a
:class:`Home` is given, calls the same use case the CLI calls, and returns its result dataclass (each has
``to_dict()``, the ``data`` of the CLI's ``--json`` envelope).  Errors are :class:`artforge.ArtforgeError`
subclasses; ``exc.exit_code`` is the CLI's exit code for them.  ``docs/api.md`` shows them at work.

torch, faiss and web3 are imported by the function that needs them, not by ``import artforge``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from artforge.config import Settings
from artforge.errors import UsageError
from artforge.provenance.keys import Signer
from artforge.usecases.home import Home, init_home

if TYPE_CHECKING:  # the heavy modules load when their function is called
    from artforge.generation.sampling import GenerateResult
    from artforge.generation.train_config import TrainConfig
    from artforge.generation.training import Callback, TrainResult
    from artforge.provenance.fingerprints import Fingerprint
    from artforge.usecases.access import RoleEntry
    from artforge.usecases.audit import AuditReport
    from artforge.usecases.credentials import CredentialsExport
    from artforge.usecases.mint import MintResult
    from artforge.usecases.private_works import ShareResult
    from artforge.usecases.register import RegisteredWork
    from artforge.usecases.registry_copy import CopyResult
    from artforge.usecases.show import WorkDetails
    from artforge.usecases.stylize import StylizeResult
    from artforge.usecases.verify import DisputeReport

Passphrase = str | bytes | Callable[[], bytes | None] | None
ImagePaths = str | Path | Sequence[str | Path]


def _passphrase(value: Passphrase) -> Callable[[], bytes | None] | None:
    if value is None or callable(value):
        return value
    secret = value.encode() if isinstance(value, str) else bytes(value)
    return lambda: secret


def open_home(path: str | Path | None = None, *, passphrase: Passphrase = None,
              signer: Signer | None = None) -> Home:
    """The artforge home at ``path`` (default: ``$ARTFORGE_HOME`` or the platform's data folder).

    ``passphrase`` unlocks encrypted keys (a string, bytes, or a function asked only when a key is used).
    ``signer`` signs new works instead of the home's key file: ``Signer.from_callback(public_key, sign)``
    puts a hardware key or a KMS behind any ``Callable[[bytes], bytes]`` that returns Ed25519 signatures.
    """
    settings = Settings.from_env() if path is None else Settings(home=Path(path))
    return Home(settings=settings, passphrase=_passphrase(passphrase), identity=signer)


def create_home(path: str | Path | None = None, *, passphrase: Passphrase = None) -> Home:
    """Create (or reopen) a home with a default key, encrypted at rest when a ``passphrase`` is given."""
    home = open_home(path, passphrase=passphrase)
    init_home(home, passphrase=home.passphrase)
    return home


def _images(images: ImagePaths) -> list[str | Path]:
    if isinstance(images, (str, Path)):
        return [images]
    if not images:
        raise UsageError("no images given")
    return list(images)


def fingerprint(image: str | Path) -> "Fingerprint":
    """SHA-256 of the file and of the pixels, pHash, PDQ and colour hash of one image."""
    from artforge.provenance.fingerprints import fingerprint_file

    return fingerprint_file(image)


def register(images: ImagePaths, *, licence: str, home: Home | None = None, title: str | None = None,
             key: str | None = None, parents: Sequence[str] = (), watermark_out: str | Path | None = None,
             c2pa_out: str | Path | None = None, private: bool = False,
             readers: Sequence[str] = ()) -> list["RegisteredWork"]:
    """Sign and register images under a licence (an SPDX id or a custom ``LicenseRef-``), all or none.

    Signed by ``key`` (a key name in the home), else the home's injected signer, else its default key.
    Registering the same pixels again with the same key returns the existing work (``created`` False).
    ``watermark_out``: write a copy carrying an invisible mark of its record into that folder and register the
    copy instead (docs/watermark.md); ``c2pa_out``: also write each registered file with its signed Content
    Credentials into that folder (docs/credentials.md).  ``private``: seal the title, licence and thumbnail
    for the owner, the registry's admins and ``readers`` (key names, key ids or public keys), the thumbnail
    also for its verifiers (docs/private-works.md); not with ``watermark_out`` or ``c2pa_out``.
    """
    from artforge.usecases.credentials import register_with_credentials
    from artforge.usecases.register import register_images
    from artforge.usecases.watermarking import register_watermarked

    home = home or open_home()
    options = dict(licence_id=licence, title=title, key_name=key, parents=parents)
    marked = None if watermark_out is None else Path(watermark_out)
    if private or readers:
        if c2pa_out is not None or marked is not None:
            raise UsageError("a private work is registered without `watermark_out` and `c2pa_out` (those copies are public)")
        return register_images(home, _images(images), private=private, readers=readers, **options)
    if c2pa_out is not None:
        return register_with_credentials(home, _images(images), Path(c2pa_out), watermark_dir=marked, **options)
    if marked is not None:
        return register_watermarked(home, _images(images), marked, **options)
    return register_images(home, _images(images), **options)


def verify(images: ImagePaths, *, home: Home | None = None, report: str | Path | None = None) -> list["DisputeReport"]:
    """Find each image's registered original (through re-encoding, resizing, crops, pads, rotation, flips
    and colour edits) and report its owner, licence, terms and signature status; with ``report`` (one
    image), also write the report as a self-contained HTML page there (docs/dispute-report.md)."""
    from artforge.usecases.verify import verify_images

    return verify_images(home or open_home(), _images(images), page=None if report is None else Path(report))


def credentials(work: str, image: str | Path, out: str | Path, *, home: Home | None = None,
                key: str | None = None) -> "CredentialsExport":
    """Write the work's image (``image``, its own pixels) to ``out`` with signed Content Credentials (C2PA)."""
    from artforge.usecases.credentials import export_credentials

    return export_credentials(home or open_home(), work, Path(image), Path(out), key_name=key)


def show(work: str, *, home: Home | None = None) -> "WorkDetails":
    """A work's signed facts: owner, licence and terms, grants, transfers, lineage and tokens."""
    from artforge.usecases.show import show_work

    return show_work(home or open_home(), work)


def export(work: str, *, home: Home | None = None) -> list[dict]:
    """A work's signed records, to check offline (``python -m artforge.verify_record``)."""
    from artforge.usecases.show import export_records

    return export_records(home or open_home(), work)


def audit(*, home: Home | None = None, against: Sequence[str | Path] = ()) -> "AuditReport":
    """Check every signature, every row against the records, and the transparency log (``report.ok``)."""
    from artforge.usecases.audit import audit_registry

    return audit_registry(home or open_home(), [Path(p) for p in against])


def share(work: str, to: str, *, home: Home | None = None, thumbnail_only: bool = False,
          key: str | None = None) -> "ShareResult":
    """Let the key ``to`` (a key name in the home, a key id or a public key) open a private work's sealed
    parts: its thumbnail (enough to verify copies), and unless ``thumbnail_only`` its title and licence.
    Done by the owner or an admin, with a key of the home that opens them (a signed key-share claim)."""
    from artforge.usecases.private_works import share_private_work

    return share_private_work(home or open_home(), work, to, details=not thumbnail_only, key_name=key)


def set_role(key: str, role: str, *, home: Home | None = None, signer: str | None = None) -> "RoleEntry":
    """Give ``key`` (a key name in the home, a key id or a public key) a role on the registry, signed by
    ``signer`` (an admin; the first role is a key making itself admin).  See docs/shared-registry.md."""
    from artforge.usecases.access import set_role as sign_role

    return sign_role(home or open_home(), key, role, signer)


def copy_registry(source: str | Path, target: str | Path) -> "CopyResult":
    """Copy the registry at ``source`` (an SQLite file or a ``postgresql://`` URL) into the empty one at
    ``target``, audited on both sides before it commits (``result.ok``)."""
    from artforge.usecases.registry_copy import copy_registry as copy

    return copy(str(source), str(target))


def train(config: "TrainConfig", *, callbacks: Sequence["Callback"] = ()) -> "TrainResult":
    """Train a generator (DCGAN, MLP GAN, conditional GAN or VAE) as ``config`` says; a checkpoint results."""
    from artforge.usecases.generate import train_generator

    return train_generator(config, callbacks)


def generate(checkpoint: str | Path, out: str | Path, seeds: Sequence[int], *, label: int | None = None,
             prompt: str | None = None, truncation: float = 1.0, home: Home | None = None,
             licence: str | None = None, key: str | None = None) -> "GenerateResult":
    """Sample one PNG per seed from a checkpoint into ``out``; with a ``licence``, register each one as a
    generated work whose record names the checkpoint, seed, prompt and dataset."""
    from artforge.usecases.generate import generate as generate_images
    from artforge.usecases.generate import generate_and_register

    if licence is None:
        return generate_images(checkpoint, out, list(seeds), label=label, prompt=prompt, truncation=truncation)

    return generate_and_register(home or open_home(), checkpoint, out, list(seeds), licence_id=licence,
                                 key_name=key, label=label, prompt=prompt, truncation=truncation)


def stylize(content: str | Path, style: str | Path | None, out: str | Path, *, model: str | Path | None = None,
            weights: str | Path | None = None, size: int = 256, iterations: int = 200, home: Home | None = None,
            licence: str | None = None, key: str | None = None) -> "StylizeResult":
    """Repaint ``content`` (a picture, or a folder of them) in the style of ``style``: by optimisation, or with
    a trained style network (``model``).  With a ``licence``, register each result as a derived work whose
    record names the registered content and style works as parents."""
    from artforge.usecases.stylize import GatysConfig, stylize_and_register
    from artforge.usecases.stylize import stylize as stylize_pictures

    config = GatysConfig(size=size, iterations=iterations)
    if licence is None:
        return stylize_pictures(content, style, out, model=model, weights=weights, config=config)
    return stylize_and_register(home or open_home(), content, style, out, licence_id=licence, key_name=key,
                                model=model, weights=weights, config=config)


def mint(work: str | Path, *, home: Home | None = None, chain: str = "memory", rpc_url: str | None = None,
         key_env: str | None = None, image: str | Path | None = None, royalty_bps: int | None = None,
         allow_noncommercial: bool = False) -> "MintResult":
    """An ERC-721 token with ERC-2981 royalties for a registered work (needs ``pip install "artforge[chain]"``).

    ``chain`` is ``memory`` (in-process, gone with the process), ``local`` (``artforge chain up``) or, with
    ``rpc_url`` and ``key_env`` (the variable holding the signing key), any EVM node.
    """
    from artforge.chain.network import ChainTarget
    from artforge.usecases.mint import DEFAULT_ROYALTY_BPS, MintRequest, mint_work

    target = ChainTarget.from_options(None if rpc_url else chain, rpc_url, key_env)
    request = MintRequest(str(work), Path(image) if image else None,
                          royalty_bps=DEFAULT_ROYALTY_BPS if royalty_bps is None else royalty_bps,
                          allow_noncommercial=allow_noncommercial)
    return mint_work(home or open_home(), request, target)
