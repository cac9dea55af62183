"""The Merkle log's math (RFC 9162) and its signed checkpoints (C2SP signed-note), against published vectors."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from artforge.provenance.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from artforge.provenance.notes import Checkpoint, NoteError, key_id, open_note, sign_note, verifier_key

h = bytes.fromhex
# The RFC 6962 reference vectors (certificate-transparency's merkle tests): eight leaves and the root of
# each prefix of them.
LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                         "606162636465666768696a6b6c6d6e6f")]
ROOTS = [h(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
INCLUSION_5_OF_8 = [h(x) for x in ("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                                   "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                   "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]
CONSISTENCY_6_TO_8 = [h(x) for x in ("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                                     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                                     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]
CONSISTENCY_2_TO_5 = [h(x) for x in ("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                                     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]


def _tree(n: int) -> MemoryTree:
    return MemoryTree([leaf_hash(i.to_bytes(4, "big")) for i in range(n)])


def test_roots_and_proofs_match_the_rfc_6962_vectors() -> None:
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    tree = MemoryTree(hashes)
    assert root_of([]) == EMPTY_ROOT == tree.root(0)
    for size, root in enumerate(ROOTS, start=1):
        assert root_of(hashes[:size]) == root == tree.root(size)
    assert inclusion_proof(tree.perfect, 5, 8) == INCLUSION_5_OF_8
    verify_inclusion(5, 8, hashes[5], INCLUSION_5_OF_8, ROOTS[7])
    with pytest.raises(ProofError):
        verify_inclusion(4, 8, hashes[5], INCLUSION_5_OF_8, ROOTS[7])
    assert inclusion_proof(tree.perfect, 2, 3) == [ROOTS[1]]
    assert consistency_proof(tree.perfect, 6, 8) == CONSISTENCY_6_TO_8
    verify_consistency(6, 8, ROOTS[5], ROOTS[7], CONSISTENCY_6_TO_8)
    with pytest.raises(ProofError):
        verify_consistency(6, 8, ROOTS[4], ROOTS[7], CONSISTENCY_6_TO_8)
    assert consistency_proof(tree.perfect, 2, 5) == CONSISTENCY_2_TO_5
    verify_consistency(2, 5, ROOTS[1], ROOTS[4], CONSISTENCY_2_TO_5)


def _check_inclusion(tree: MemoryTree, index: int, size: int) -> None:
    root, leaf = tree.root(size), tree.perfect(0, index)
    proof = inclusion_proof(tree.perfect, index, size)
    verify_inclusion(index, size, leaf, proof, root)
    bad = [(index, size, leaf_hash(b"other"), proof, root), (index, size, leaf, proof, leaf_hash(b"root"))]
    if size > 1:
        # (A wrong tree size with the same root can pass when the path's directions agree: the signed
        # checkpoint, not the proof, binds the size to the root.)
        bad.append((index, size, leaf, proof[:-1], root))
        bad.append((index, size, leaf, proof + [leaf], root))
        flipped = list(proof)
        flipped[0] = bytes([flipped[0][0] ^ 1]) + flipped[0][1:]
        bad.append((index, size, leaf, flipped, root))
        bad.append(((index + 1) % size, size, leaf, proof, root))
    for args in bad:
        if args[0] == index and args[1] == size and args[2] == leaf and args[3] == proof and args[4] == root:
            continue
        with pytest.raises(ProofError):
            verify_inclusion(*args)


def _check_consistency(tree: MemoryTree, old: int, new: int) -> None:
    old_root, new_root = tree.root(old), tree.root(new)
    proof = consistency_proof(tree.perfect, old, new)
    verify_consistency(old, new, old_root, new_root, proof)
    if 0 < old < new:
        with pytest.raises(ProofError):
            verify_consistency(old, new, leaf_hash(b"x"), new_root, proof)
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, leaf_hash(b"x"), proof)
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, proof[:-1])
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_root, new_root, proof + [new_root])
        if new > old + 1:
            with pytest.raises(ProofError):
                verify_consistency(old + 1, new, old_root, new_root, proof)


def test_every_proof_in_small_trees_verifies_and_every_mangled_one_fails() -> None:
    tree = _tree(40)
    for size in range(1, 41):
        for index in range(size):
            _check_inclusion(tree, index, size)
        for old in range(0, size + 1):
            _check_consistency(tree, old, size)


def test_powers_of_two_and_their_neighbours() -> None:
    tree = _tree(1025)
    sizes = sorted({s for p in range(1, 11) for s in (2**p - 1, 2**p, 2**p + 1)})
    for size in sizes:
        for index in {0, size // 2, size - 1}:
            _check_inclusion(tree, index, size)
        for old in sizes:
            if old <= size:
                _check_consistency(tree, old, size)


def test_random_sizes_up_to_ten_thousand_against_the_definition() -> None:
    rng = random.Random(6962)
    tree = _tree(10_000)
    hashes = [tree.perfect(0, i) for i in range(10_000)]
    for _ in range(60):
        size = rng.randint(1, 10_000)
        assert tree.root(size) == root_of(hashes[:size])
        _check_inclusion(tree, rng.randrange(size), size)
        _check_consistency(tree, rng.randint(0, size), size)


def test_a_stale_checkpoint_cannot_pass_for_a_rewritten_history() -> None:
    honest = _tree(20)
    forged = MemoryTree([honest.perfect(0, i) for i in range(9)] + [leaf_hash(b"rewritten")] +
                        [honest.perfect(0, i) for i in range(10, 20)])
    with pytest.raises(ProofError):
        verify_consistency(12, 20, honest.root(12), forged.root(20), consistency_proof(forged.perfect, 12, 20))


# golang.org/x/mod/sumdb/note's example: the same seed must give the same signed note byte for byte.
PETER_SEED_B64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  # 0x01 || seed, from PRIVATE+KEY+PeterNeumann+c74f20a3+...
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_NOTE = PETER_TEXT + ("\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
                           "vqfqdngotpRZb6KE6RyyBwJnAM=\n")


def test_signed_notes_match_the_go_reference() -> None:
    import base64

    seed = base64.b64decode(PETER_SEED_B64)[1:]
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert verifier_key("PeterNeumann", public) == PETER_VKEY and key_id("PeterNeumann", public).hex() == "c74f20a3"
    assert sign_note(PETER_TEXT, "PeterNeumann", public, key.sign) == PETER_NOTE
    assert open_note(PETER_NOTE, "PeterNeumann", public) == PETER_TEXT
    with pytest.raises(NoteError, match="does not verify"):
        open_note(PETER_NOTE.replace("cryptography", "cryptographY"), "PeterNeumann", public)
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with pytest.raises(NoteError, match="not signed by"):
        open_note(PETER_NOTE, "PeterNeumann", other)
    for bad in ("no blank line\n", PETER_TEXT + "\nnot a signature\n", PETER_TEXT + "\n\u2014 PeterNeumann !!\n"):
        with pytest.raises(NoteError):
            open_note(bad, "PeterNeumann", public)


def test_checkpoints_round_trip_and_refuse_malformed_text() -> None:
    checkpoint = Checkpoint("artforge/log/0123abcd", 8, ROOTS[7])
    assert checkpoint.text() == "artforge/log/0123abcd\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    assert Checkpoint.parse(checkpoint.text()) == checkpoint
    for bad in ("", "origin\n8\n", "origin\nx\nAAAA\n", "origin\n08\n" + checkpoint.text().split("\n")[2] + "\n",
                "origin\n8\nnot base64!\n", "origin\n8\nAAAA\n"):
        with pytest.raises(NoteError):
            Checkpoint.parse(bad)
