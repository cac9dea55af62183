"""artforge.chain.ipfs.file_cid against CIDs from the JavaScript reference importer.

Where the vectors came from (regenerate the same way to extend them):
  npm install ipfs-unixfs-importer@17.1.1 blockstore-core@7.0.1
  (pulls ipfs-unixfs 13.1.1, @ipld/dag-pb 4.2.0, multiformats 14.0.5), then for
  each size n, ``importer([{content: gen(n)}], new MemoryBlockstore(), opts)``
  with opts = {cidVersion: 1, rawLeaves: true, reduceSingleLeafToSelf: true,
  wrapWithDirectory: false, chunker: fixedSize({chunkSize}),
  layout: balanced({maxChildrenPerNode})}, i.e. kubo's
  ``ipfs add --cid-version 1`` defaults (raw leaves, size-262144, balanced, 174
  links); the last CID yielded is the file root.  gen(n)[i] = (i*31+7) % 251,
  written as a plain loop in the JS script.  KUBO_VECTORS were cross-checked
  with the older ipfs-only-hash@4.0.0 (ipfs-unixfs-importer 7.0.3; options
  cidVersion 1, rawLeaves, maxChunkSize 262144, maxChildrenPerNode 174,
  strategy 'balanced'), which gave identical CIDs.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from artforge.chain.ipfs import CHUNK_SIZE, MAX_LINKS, file_cid

_PERIOD = bytes((i * 31 + 7) % 251 for i in range(251))


def gen(n: int) -> bytes:
    """bytes((i * 31 + 7) % 251 for i in range(n)), built by tiling its 251-byte period."""
    return (_PERIOD * (n // 251 + 1))[:n]


C = CHUNK_SIZE
# Stock settings (chunk 262144, 174 links).
KUBO_VECTORS = [
    (0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    (1, "bafkreigkgwdvr5wspzwpiutssn4xpj2i7wedshnwphhnu7ohx4pqaxxipe"),
    (100, "bafkreiam453b2qwydx6mya3ezpni26bue56bgv4e2mtbimv3jhumg6wpr4"),
    (C - 1, "bafkreiaakdbr3mk3i2fyatdvfsyktszyq74pjcglkrozlwyc4xyjg4bowi"),
    (C, "bafkreieiuj5mzeuqor24l4lmo2yumm6665yv4gq7ozzp2nrfmqrjyboosy"),
    (C + 1, "bafybeich6cqd6yabw3cku6edwmz4rvwe275nx2l6ootvc2bpbt5bdvarua"),
    (2 * C, "bafybeid5sthfzhlnifk5fvivasemgw2rzzfdp54rapknx7eaz5j4yoae3i"),
    (1_000_000, "bafybeiclwhwdl4p5zj7tkk4w4xwcnphz76aibkikjcfmx7cecdfjdtlstq"),
    (174 * C, "bafybeiafkae3md3zfgdgpk2ztpkul5dzotu4bgbnvuinadceqrqa2rz7bi"),  # one full node
    # 175+ leaves need a second level: root over inner nodes of <= 174 leaves.
    (174 * C + 1, "bafybeibo5yjphmmdq6aigqtgrijost25l5lmv5l37von7hrjv7sagnx4sy"),
    (175 * C + 5, "bafybeiavcrt5da2u62wpxnbh2tkhqjl7fjsqi6vkhycnur7yabigrmjkeq"),
    (348 * C + 1, "bafybeib3otzgpj4nmfep32qiayn2v6kizlalzpb337tvxb4eo6at6o2xke"),  # 174+174+1
]

# Small chunks / narrow nodes, to check the balanced layout at depth 3-5 cheaply.
SMALL_VECTORS = [
    # (chunk_size, max_links, size, cid)
    (16, 3, 0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
    (16, 3, 16, "bafkreiezi5ohjfmp4qyublx3tzyawsj5v7qzvdx5alldo4fecwxlcsrkim"),
    (16, 3, 17, "bafybeig3ogxbzyqch76gue6l2wg6iep6mm5q34l7vemjnnvznpem5tcwfa"),
    (16, 3, 48, "bafybeic45eehszx3cifxpuyrzbcnnusyi6xzlfwfqa2aovecgj7ogie3zm"),
    (16, 3, 49, "bafybeib4yukse4hgvay3kccfo3oawupcbrbwneb552b7a42muxafkyddae"),
    (16, 3, 144, "bafybeicgkcq2jgpluq3l35xj6e3q7yy7mq6v4vlnxiwbozh3v24u2jt4ey"),
    (16, 3, 145, "bafybeiabekzbtij234wqshl7c5g6464ibqiekswjuwul6yaoxlcsxp7aie"),
    (16, 3, 160, "bafybeih7i4ozvkvclxjlm2sgz7ipe3xigjrgl7fw3zqdzoxp6fjewb2rvu"),
    (16, 3, 432, "bafybeiduzpn7tnwtmrm2gzii3cw57k2uw4wvp5p6eztxvhdadwt3vzmh5u"),
    (16, 3, 433, "bafybeig42wrfktcvomtyo5qkejjdbdr7ydwo2f63ybcimfslittf7qpqia"),
    (16, 3, 1000, "bafybeihrtywkl5kri5cfqnabwsr7lp5iaofrqo5ftg5kgukjy5urxzoi3m"),
    (16, 3, 1296, "bafybeibhwsgdrh6d2g2pa2nmthqa774tosxvabyrd4v72wnqaxp6fkoarm"),
    (16, 3, 1297, "bafybeicrkghrdtojrez4gqhfqw5xk25w4qmd2h32yxbs4dmuqdmmqeeqxi"),
    (1, 2, 2, "bafybeids4azrk6w3ohpawurnjto6vzevhpy3rhpdhg5qy43bl7mmtio47e"),
    (1, 2, 3, "bafybeiditjg3lnrvyt6wvendhf2tljram67vts7sdozxmvz4x3jknpotza"),
    (1, 2, 5, "bafybeiganeqpnqcygevbln2psticbc7eszgxxn3ysbaubgoolzj2kqv3ba"),
    (1, 2, 8, "bafybeiezlk6s5xoti3eiok4bn2kklib2txkv3l5kxh55uzt3d4tpzpeqhe"),
    (1, 2, 9, "bafybeic3jd6u7xv6w7oayo7y7rn6is76ktbugoippjj7fwjrudoozeeovi"),
    (1, 2, 17, "bafybeihnwzwt2b5tdrngqka4u75d5zfetb7g3vxzsd4leixxaqv6llxal4"),
    # 174 links, 1 KiB chunks: exactly 174**2 leaves (2 full levels), then one
    # more leaf and 175 more (each needs a third level).
    (1024, 174, 174**2 * 1024, "bafybeibusuiepjxtrwt7ga7r2twpdmlrkqlicswifdfrlpmc5mxu7jgxfm"),
    (1024, 174, 174**2 * 1024 + 1, "bafybeigln6n25uzaoxig466phsnhynypdwxpfnx32evhgbawuytybbs244"),
    (1024, 174, 175 * 174 * 1024 + 3, "bafybeiglm5gnpy2ajvpua4utyxgl7hddijxpmevtnu4ciy53usnpjndf5q"),
]


def test_generator_matches_definition() -> None:
    assert gen(2000) == bytes((i * 31 + 7) % 251 for i in range(2000))


def test_constants() -> None:
    assert (CHUNK_SIZE, MAX_LINKS) == (262144, 174)


@pytest.mark.parametrize(("size", "expected"), KUBO_VECTORS, ids=[str(s) for s, _ in KUBO_VECTORS])
def test_file_cid_matches_reference(size: int, expected: str) -> None:
    assert file_cid(gen(size)) == expected


@pytest.mark.parametrize(("chunk", "links", "size", "expected"), SMALL_VECTORS)
def test_deep_layout_matches_reference(chunk: int, links: int, size: int, expected: str) -> None:
    assert file_cid(gen(size), chunk_size=chunk, max_links=links) == expected


def test_single_block_is_raw_sha256() -> None:
    data = gen(CHUNK_SIZE)
    cid = b"\x01\x55\x12\x20" + hashlib.sha256(data).digest()
    assert file_cid(data) == "b" + base64.b32encode(cid).decode().lower().rstrip("=")
    assert file_cid(bytearray(data)) == file_cid(memoryview(data)) == file_cid(data)


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        file_cid(b"x", chunk_size=0)
    with pytest.raises(ValueError):
        file_cid(b"x", max_links=1)
