"""Robust matching of disputed images: layered fingerprints, a persistent index, a pixel-level decision.

* :mod:`.layers`: what is stored per work (content box, ORB keypoints, thumbnail) and computed per query.
* :mod:`.index`: FAISS binary indexes over PDQ hashes and ORB descriptors, cached next to the registry.
* :mod:`.compare`: align a query onto a candidate and compare pixels.
* :mod:`.calibration`: thresholds and the false-match estimate.
* :mod:`.matcher`: the two stages together.
"""
