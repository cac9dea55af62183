"""Merkle tree hashing, proofs and their verification, written from RFC 9162 (Certificate Transparency 2.0).

Pure functions over hashes.  A tree of ``n`` leaves is the MTH of RFC 9162 section 2.1.1: a leaf hashes as
``SHA-256(0x00 || leaf)``, a node as ``SHA-256(0x01 || left || right)``, and a range of more than one leaf
splits at the largest power of two below its size.  Proofs are built from the hashes of *perfect*
subtrees (``2**level`` leaves starting at ``index * 2**level``), which a log stores as it grows, so a proof
costs O(log² n) lookups and never a pass over all leaves.

``verify_inclusion`` and ``verify_consistency`` follow the algorithms of sections 2.1.3.2 and 2.1.4.2 step
by step; they are the only code a verifier needs (``python -m artforge.verify_bundle`` carries a copy of them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = SHA-256()

# (level, index) -> hash of the perfect subtree of 2**level leaves starting at leaf index * 2**level.
PerfectHash = Callable[[int, int], bytes]


class ProofError(ValueError):
    """A proof does not verify (or is malformed)."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, by the definition (O(n); for checks and small trees)."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = _split(n)
    return node_hash(root_of(leaf_hashes[:k]), root_of(leaf_hashes[k:]))


def range_hash(perfect: PerfectHash, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)`` as they occur in RFC 9162's recursion (``start`` is aligned)."""
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        return perfect(size.bit_length() - 1, start // size)
    k = _split(size)
    return node_hash(range_hash(perfect, start, start + k), range_hash(perfect, start + k, end))


def inclusion_proof(perfect: PerfectHash, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_hash(perfect, start + k, end))
            end = start + k
        else:
            path.append(range_hash(perfect, start, start + k))
            start += k
    return path[::-1]  # the recursion appends from the root down; the proof lists from the leaf up


def consistency_proof(perfect: PerfectHash, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[0:new]) of RFC 9162 section 2.1.4.1 (empty when old is 0 or equals new)."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    if old in (0, new):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, new, old, True  # SUBPROOF(m, D[start:end], whole)
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(range_hash(perfect, start + k, end))
            end = start + k
        else:
            proof.append(range_hash(perfect, start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append(range_hash(perfect, start, end))
    return proof[::-1]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 section 2.1.3.2; ``leaf`` is the leaf *hash*.  Raises :class:`ProofError`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short")
    if r != root:
        raise ProofError("inclusion proof does not lead to the root")


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 section 2.1.4.2.  Raises :class:`ProofError`."""
    if not 0 <= old <= new:
        raise ProofError(f"tree size {new} is smaller than {old}")
    if old == new:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("equal sizes with different roots")
        return
    if old == 0:
        if proof:
            raise ProofError("a proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if old & (old - 1) == 0:  # an exact power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != old_root:
        raise ProofError("consistency proof does not lead to the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the new root")


def completed_nodes(size: int, leaf: bytes, perfect: PerfectHash) -> list[tuple[int, int, bytes]]:
    """The perfect subtrees, ``(level, index, hash)``, that appending leaf hash ``leaf`` to a tree of
    ``size`` leaves completes: the leaf itself, then each parent whose right child it closes."""
    level, index, digest = 0, size, leaf
    nodes = [(level, index, digest)]
    while index & 1:
        digest = node_hash(perfect(level, index - 1), digest)
        level, index = level + 1, index >> 1
        nodes.append((level, index, digest))
    return nodes


class MemoryTree:
    """A tree held in memory (for verifiers, tests and benchmarks); a log keeps the same nodes in SQLite."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()):
        self.size = 0
        self.nodes: dict[tuple[int, int], bytes] = {}
        for leaf in leaf_hashes:
            self.append(leaf)

    def perfect(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def append(self, leaf: bytes) -> None:
        for level, index, digest in completed_nodes(self.size, leaf, self.perfect):
            self.nodes[(level, index)] = digest
        self.size += 1

    def root(self, size: int | None = None) -> bytes:
        return range_hash(self.perfect, 0, self.size if size is None else size)
