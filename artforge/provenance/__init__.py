"""Provenance wing: fingerprints, keys and signing, signed records, the Merkle tree and signed notes.

* :mod:`.fingerprints`: SHA-256, pHash, PDQ and colour hashes of an image.
* :mod:`.keys`: Ed25519 keys encrypted at rest, and signers (any ``Callable[[bytes], bytes]`` can sign).
* :mod:`.records`: the record format: canonical bytes, signing and checking a record and its chain.
* :mod:`.merkle`: RFC 9162 tree hashes, inclusion and consistency proofs.
* :mod:`.notes`: checkpoints as signed notes (the C2SP format).

It signs and checks bytes and knows no storage: the registry keeps what it signs.
"""
