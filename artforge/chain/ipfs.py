"""Offline IPFS CIDv1 for a file's bytes, identical to ``ipfs add --cid-version 1``.

Reproduces kubo's defaults for that command, with no IPFS node:

* ``--cid-version 1``, which makes ``--raw-leaves`` default to true: every chunk
  is a ``raw`` (0x55) block, not a UnixFS-wrapped dag-pb leaf;
* chunker ``size-262144`` (fixed 256 KiB chunks, the last one shorter);
* ``balanced`` DAG layout, at most 174 links per node (``--trickle`` not set);
* inner nodes are dag-pb (0x70) PBNodes holding UnixFS v1 ``File`` Data;
* ``sha2-256`` multihash, printed as base32 lower-case multibase (``b...``);
* no ``--wrap-with-directory``, no ``--preserve-mode``/``--preserve-mtime``,
  no ``--nocopy``/``--inline``.

A file of at most 262144 bytes is one raw block, so its CID is ``bafkrei...``;
anything larger gives a dag-pb root ``bafybei...``.  An empty file gives the raw
CID of zero bytes, ``bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku``
(kubo's balanced ``Layout`` makes ``NewLeafNode(nil)``, a raw node when raw
leaves are on; the JS importer agrees).  Checked against ipfs-unixfs-importer in
``tests/test_ipfs_cid.py``.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["CHUNK_SIZE", "MAX_LINKS", "file_cid"]

CHUNK_SIZE = 262144  # kubo default chunker "size-262144"
MAX_LINKS = 174  # boxo helpers.DefaultLinksPerBlock (8 KiB / ~47 bytes per link)

_CODEC_RAW = 0x55
_CODEC_DAG_PB = 0x70
_SHA2_256 = b"\x12\x20"  # multihash: code 0x12, digest length 32
_UNIXFS_FILE = 2  # UnixFS Data.DataType.File

# A node as its parent needs it: (binary CID, file bytes below it, Tsize = size
# of its serialised block plus every block beneath it).
_Node = tuple[bytes, int, int]


def _varint(n: int) -> bytes:
    """Unsigned LEB128, the protobuf/multiformats varint."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _pb_varint(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)  # wire type 0


def _pb_bytes(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload  # wire type 2


def _cid(codec: int, block: bytes | memoryview) -> bytes:
    return b"\x01" + _varint(codec) + _SHA2_256 + hashlib.sha256(block).digest()


def _leaf(chunk: memoryview) -> _Node:
    # Raw leaf: the block is the chunk itself, so Tsize == file size == len.
    return _cid(_CODEC_RAW, chunk), len(chunk), len(chunk)


def _parent(children: list[_Node]) -> _Node:
    filesize = sum(c[1] for c in children)
    # UnixFS Data (unixfs.proto): Type=1 (File), Data=2 omitted for inner
    # nodes, filesize=3, blocksizes=4 repeated and NOT packed (proto2), one
    # per child in link order, giving that child's file bytes.
    unixfs = _pb_varint(1, _UNIXFS_FILE) + _pb_varint(3, filesize)
    unixfs += b"".join(_pb_varint(4, c[1]) for c in children)
    # PBLink: Hash=1, Name=2, Tsize=3.  kubo (boxo merkledag marshalImmutable)
    # and @ipld/dag-pb always write Name, here as an empty string (0x12 0x00).
    links = b"".join(
        _pb_bytes(2, _pb_bytes(1, cid) + _pb_bytes(2, b"") + _pb_varint(3, tsize))
        for cid, _, tsize in children
    )
    # PBNode: Links=2, Data=1; the dag-pb canonical form writes every Link
    # before Data despite the field numbers.
    block = links + _pb_bytes(1, unixfs)
    return _cid(_CODEC_DAG_PB, block), filesize, len(block) + sum(c[2] for c in children)


def file_cid(
    data: bytes | bytearray | memoryview,
    *,
    chunk_size: int = CHUNK_SIZE,
    max_links: int = MAX_LINKS,
) -> str:
    """CIDv1 string that ``ipfs add --cid-version 1`` prints for ``data``.

    ``chunk_size``/``max_links`` exist to test deep trees cheaply (they mirror
    ``--chunker size-N`` and ``Import.UnixFSFileMaxLinks``); leave them alone to
    match a stock kubo.
    """
    if chunk_size < 1 or max_links < 2:
        raise ValueError("chunk_size must be >= 1 and max_links >= 2")
    view = memoryview(data).cast("B")
    # range(0, max(n, 1)) yields one (empty) chunk for an empty file.
    level = [_leaf(view[i : i + chunk_size]) for i in range(0, max(len(view), 1), chunk_size)]
    # kubo's balanced builder grows a root one depth at a time, filling each
    # child subtree completely before the next; that is exactly grouping each
    # level into runs of max_links, left to right, until one node remains
    # (a single chunk stays a bare raw block: no dag-pb wrapper).
    while len(level) > 1:
        level = [_parent(level[i : i + max_links]) for i in range(0, len(level), max_links)]
    return "b" + base64.b32encode(level[0][0]).decode("ascii").lower().rstrip("=")
