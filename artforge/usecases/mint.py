"""``artforge mint``: a registered work becomes an ERC-721 token with ERC-2981 royalties.

Idempotent and crash-safe.  The contract refuses a second token for the same provenance record, and
before sending anything we ask it (``tokenOfRecord``) whether the record already has one: a run that died
after sending is reconciled from the chain, not minted twice.  In the registry a token row is ``pending``
(with its transaction hash, known before sending) until the receipt makes it ``minted`` or ``failed``.

On the in-process chain nothing is recorded: that chain ends with the process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from artforge.chain import DEFAULT_ROYALTY_BPS, MAX_ROYALTY_BPS, events, store
from artforge.chain.contract import contract_for, minted_token_id
from artforge.chain.metadata import TokenMetadata, build_metadata, write_metadata
from artforge.chain.network import (
    ChainSession,
    ChainTarget,
    PreparedTransaction,
    broadcast,
    check_address,
    prepare,
    receipt_of,
    require_chain_extra,
    wait_for_receipt,
)
from artforge.errors import (
    ChainUnreachable,
    InvalidRecord,
    LicenceForbids,
    NotFound,
    NotOwner,
    RegistryTampered,
    TransactionRejected,
    UsageError,
)
from artforge.fsutil import read_regular_file
from artforge.imaging import load_image, pixel_sha256
from artforge.provenance.keys import Signer
from artforge.provenance.records import sign_payload, utc_now
from artforge.registry.database import Registry
from artforge.registry.rows import WorkRow
from artforge.usecases import access
from artforge.usecases.chain_setup import open_session
from artforge.usecases.home import Home
from artforge.usecases.show import work_details


@dataclass(frozen=True)
class MintRequest:
    """What to mint and how."""

    reference: str  # a work id or prefix, or the path of the registered image
    image: Path | None = None  # the registered image's file, when ``reference`` is a work id
    to: str | None = None  # token owner (default: the minting account)
    royalty_bps: int = DEFAULT_ROYALTY_BPS
    royalty_to: str | None = None  # royalty receiver (default: the minting account, the artist's; never `to`)
    contract: str | None = None  # a recorded deployment other than the newest
    allow_noncommercial: bool = False


@dataclass(frozen=True)
class MintResult:
    """The token of a work on one chain, and how this run came by it."""

    token: store.TokenRow
    chain: str  # where, safe to print
    network: str  # memory, local or rpc
    metadata_path: str
    created: bool  # False: the token existed already (found in the registry or on the chain)
    recorded: bool  # False on the in-process chain

    def to_dict(self) -> dict:
        return {**self.token.to_dict(), "chain": self.chain, "network": self.network,
                "metadata_path": self.metadata_path, "created": self.created, "recorded": self.recorded}


def _image_bytes(path: Path, home: Home) -> tuple[bytes, str, str]:
    """The file's bytes, file SHA-256 and pixel SHA-256 (read once and loaded safely, like every image)."""
    data = read_regular_file(path, home.settings.max_file_bytes, "an image")
    loaded = load_image(data, max_pixels=home.settings.max_image_pixels, name=path)
    return data, loaded.file_sha256, pixel_sha256(loaded.image)


def resolve_work_and_image(registry: Registry, home: Home, reference: str, image: Path | None) -> tuple[WorkRow, bytes]:
    """The work to mint and its image bytes.

    ``reference`` is either the registered image's path or a work id; with a work id, ``image`` must be a
    file with the work's pixels (the registry keeps fingerprints, not images).
    """
    as_path = Path(reference)
    if image is None and _is_file(as_path):
        data, file_sha, pixels = _image_bytes(as_path, home)
        works = registry.works_with_file(file_sha) or registry.works_with_pixels(pixels)
        owned = [w for w in works if home.keystore.find_by_key_id(w.owner_key_id)] or works
        if not owned:
            raise NotFound(f"{reference}: not a registered image; register it first (artforge register)")
        if len({w.id for w in owned}) > 1:
            raise UsageError(f"{reference}: several works have these pixels; name one by id and give `image`")
        return owned[0], data
    work = registry.resolve_work(reference)
    if image is None:
        raise UsageError("give the registered image as `image` (the token names the image by its IPFS CID, "
                         "and the registry keeps fingerprints, not pixels)")
    data, file_sha, pixels = _image_bytes(image, home)
    if pixels != work.pixel_sha256:
        raise UsageError(f"{image}: not the image of work {work.id[:12]} (its pixels differ)")
    return work, data


def _is_file(path: Path) -> bool:
    # Anything there but a folder is meant as the image: a FIFO or a device is then refused as one
    # (BadInput), not looked up as a work id.
    try:
        return path.exists() and not path.is_dir()
    except (OSError, ValueError):  # a name too long, or with a NUL: not a file, so maybe a work id
        return False


def _check_request(request: MintRequest) -> tuple[str | None, str | None]:
    """Check the options before anything else; returns ``--to`` and ``--royalty-to`` in checksum form."""
    if not 0 <= request.royalty_bps <= MAX_ROYALTY_BPS:
        raise UsageError(f"`royalty_bps` must be 0-{MAX_ROYALTY_BPS} (basis points: 500 = 5%)")
    to = check_address(request.to, "`to`") if request.to is not None else None
    royalty_to = check_address(request.royalty_to, "`royalty_to`") if request.royalty_to is not None else None
    return to, royalty_to


def prepare_mint(registry: Registry, home: Home, request: MintRequest,
                 open_chain: Callable[[], ChainSession]) -> "Minter":
    """Every check that needs no transaction, the metadata written, the contract found: ready to mint.

    ``open_chain`` is called only once the registry side is known to be fine (bad input fails first).
    """
    to, royalty_to = _check_request(request)
    work, image = resolve_work_and_image(registry, home, request.reference, request.image)
    details = work_details(registry, work.id)
    if not details.chain_valid:
        raise InvalidRecord(f"work {work.id[:12]}: its record chain does not verify "
                            f"({'; '.join(details.chain_problems)}); not minting")
    if details.registry_problems:
        raise RegistryTampered(f"work {work.id[:12]}: the registry disagrees with its signed records "
                               f"({'; '.join(details.registry_problems)}); not minting")
    work = details.work  # the signed facts, not the rows
    if home.keystore.find_by_key_id(work.owner_key_id) is None:
        raise NotOwner(f"work {work.id[:12]} is owned by key {work.owner_key_id[:12]}, which is not in this "
                       f"home; only the owner mints its token")
    access.require(registry, work.owner_key_id, "mint", work.id)
    if not details.licence.terms.commercial and not request.allow_noncommercial:
        raise LicenceForbids(
            f"work {work.id[:12]} is licensed {details.licence.id}, which forbids commercial use; a token "
            f"can be sold, so pass `allow_noncommercial` to mint it anyway (the licence stays in "
            f"its metadata)")
    metadata = build_metadata(details.work, details.licence, details.records[0],
                              details.records[0].payload["signer"]["public_key"], image)
    metadata_path = write_metadata(home.settings.home / "tokens", metadata)
    session = open_chain()
    contract, _ = contract_for(registry, session, request.contract)
    recipient = to or session.address
    # Royalties go to the artist (whoever mints holds the owner's key, checked above), not to the buyer.
    royalty_to = royalty_to or session.address
    log_signer = home.log_signer() if session.persistent else None  # asked before any transaction
    return Minter(registry, session, contract, work, metadata, str(metadata_path), recipient, royalty_to,
                  request.royalty_bps, log_signer)


def mint_work(home: Home, request: MintRequest, target: ChainTarget,
              session: ChainSession | None = None) -> MintResult:
    """Mint a token for a registered work, or return the one it already has on this contract.

    ``session`` reuses an open chain (several mints on one in-process chain); else ``target`` is opened.
    """
    require_chain_extra(memory=target.kind == "memory")  # before anything is read or written
    with home.registry() as registry:
        return prepare_mint(registry, home, request, lambda: session or open_session(home, target)).run()


@dataclass
class Minter:
    """One mint on one contract: reconcile with the chain first, then send at most one transaction.

    :meth:`begin` records the pending row and sends; :meth:`finish` waits for the receipt and records the
    outcome.  A process that dies between the two is what :meth:`run`'s reconciliation is for.
    """

    registry: Registry
    session: ChainSession
    contract: Any
    work: WorkRow
    metadata: TokenMetadata
    metadata_path: str
    recipient: str
    royalty_to: str
    royalty_bps: int
    log_signer: Signer | None = None  # signs the mint event appended to the transparency log

    @property
    def record_hash(self) -> bytes:
        return bytes.fromhex(self.work.id)  # the registration record's id: SHA-256 of its canonical bytes

    def run(self) -> MintResult:
        row = self._row()
        on_chain = self._token_on_chain()
        if on_chain:
            return self._existing(on_chain, row)
        if row is not None and row.status == store.PENDING and row.tx_hash:
            self._settle_pending(row)
            on_chain = self._token_on_chain()
            if on_chain:
                return self._existing(on_chain, self._row())
        return self.finish(*self.begin())

    def _token_on_chain(self) -> int:
        return int(self.contract.functions.tokenOfRecord(self.record_hash).call())

    def _row(self) -> store.TokenRow | None:
        if not self.session.persistent:
            # The in-process chain's rows live in the session only (searching its logs costs ~10 ms a block).
            return self.session.memory_tokens.get((self.contract.address, self.work.id))
        return store.token(self.registry, self.session.chain_id, self.contract.address, self.work.id)

    def _settle_pending(self, row: store.TokenRow) -> None:
        """A run died after sending: wait for that transaction if the node still has it, else forget it."""
        receipt = receipt_of(self.session, row.tx_hash)
        if receipt is None:
            try:
                self.session.w3.eth.get_transaction(row.tx_hash)
            except ChainUnreachable:  # no answer says nothing about the transaction
                raise
            except Exception:  # noqa: BLE001 - unknown to the node: dropped, never mined
                return
            receipt = wait_for_receipt(self.session, row.tx_hash, "mint")
        if receipt["status"] != 1:
            self._store(replace(row, status=store.FAILED, block=int(receipt["blockNumber"]), error="reverted",
                                updated_at=utc_now()))

    def _existing(self, token_id: int, row: store.TokenRow | None) -> MintResult:
        """The record already has a token: report it, recording (or completing) its row from the chain."""
        if row is not None and row.status == store.MINTED and row.token_id == token_id:
            return self._result(row, created=False)
        tx_hash, block = self._minted_event(token_id)
        functions = self.contract.functions
        receiver, amount = functions.royaltyInfo(token_id, 10_000).call()
        uri = functions.tokenURI(token_id).call()
        now = utc_now()
        found = store.TokenRow(
            chain_id=self.session.chain_id, contract=self.contract.address, record_id=self.work.id,
            work_id=self.work.id, token_id=token_id, recipient=functions.ownerOf(token_id).call(),
            royalty_receiver=receiver, royalty_bps=int(amount), token_uri=uri,
            metadata_cid=uri.removeprefix("ipfs://"), image_cid=row.image_cid if row else self.metadata.image_cid,
            tx_hash=tx_hash, block=block, status=store.MINTED, error=None,
            created_at=row.created_at if row else now, updated_at=now)
        self._store(found)
        return self._result(found, created=False)

    def _minted_event(self, token_id: int) -> tuple[str | None, int | None]:
        logs = self.contract.events.Minted().get_logs(from_block=0, argument_filters={"tokenId": token_id})
        for log in logs:
            return "0x" + log["transactionHash"].hex().removeprefix("0x"), int(log["blockNumber"])
        return None, None

    def begin(self) -> tuple[PreparedTransaction, store.TokenRow]:
        """Sign the mint, record it as pending (with its hash), and send it.  A revert found while
        estimating stops here with nothing sent and nothing recorded."""
        call = self.contract.functions.mint(self.recipient, self.metadata.token_uri, self.royalty_to,
                                            self.royalty_bps, self.record_hash)
        prepared = prepare(self.session, call, self.contract.abi, "mint")
        now = utc_now()
        row = store.TokenRow(
            chain_id=self.session.chain_id, contract=self.contract.address, record_id=self.work.id,
            work_id=self.work.id, token_id=None, recipient=self.recipient, royalty_receiver=self.royalty_to,
            royalty_bps=self.royalty_bps, token_uri=self.metadata.token_uri, metadata_cid=self.metadata.cid,
            image_cid=self.metadata.image_cid, tx_hash=prepared.tx_hash, block=None, status=store.PENDING,
            error=None, created_at=now, updated_at=now)
        self._store(row)
        try:
            broadcast(self.session, prepared, "mint")
        except TransactionRejected:
            self._forget(row)  # refused by the node: nothing went out, so nothing to remember
            raise
        return prepared, row

    def finish(self, prepared: PreparedTransaction, row: store.TokenRow) -> MintResult:
        """Wait for the receipt; the row becomes ``minted`` (with token id and block) or ``failed``."""
        receipt = wait_for_receipt(self.session, prepared.tx_hash, "mint")
        if receipt["status"] != 1:
            self._store(replace(row, status=store.FAILED, block=int(receipt["blockNumber"]), error="reverted",
                                updated_at=utc_now()))
            raise TransactionRejected(f"mint: transaction {prepared.tx_hash} reverted")
        minted = replace(row, token_id=self._token_from_receipt(receipt), block=int(receipt["blockNumber"]),
                         status=store.MINTED, updated_at=utc_now())
        self._store(minted)
        return self._result(minted, created=True)

    def _store(self, row: store.TokenRow) -> None:
        if not self.session.persistent:
            self.session.memory_tokens[(row.contract, row.record_id)] = row
            return
        with self.registry.transaction():
            store.put_token(self.registry, row)
            if row.status == store.MINTED and self.log_signer is not None and not self._logged(row):
                payload = events.mint_payload(row.work_id, row.to_dict())
                self.registry.log_record(sign_payload(payload, self.log_signer), row.work_id)

    def _logged(self, row: store.TokenRow) -> bool:
        return store.mint_logged(self.registry, row)

    def _forget(self, row: store.TokenRow) -> None:
        if not self.session.persistent:
            self.session.memory_tokens.pop((row.contract, row.record_id), None)
            return
        with self.registry.transaction():
            store.delete_token(self.registry, row)

    def _token_from_receipt(self, receipt: Any) -> int:
        return minted_token_id(self.contract, receipt)

    def _result(self, row: store.TokenRow, created: bool) -> MintResult:
        return MintResult(row, self.session.target.label, self.session.target.kind, self.metadata_path, created,
                          self.session.persistent)
