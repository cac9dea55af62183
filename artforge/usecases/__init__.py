"""Use cases: the one layer that joins the wings.  The CLI and the Python API (``artforge``) call only this.

register, verify, generate (generate and register), audit, export, mint, and the smaller operations around
them (show, licensing, attest, reindex, log proofs, home set-up).
"""
