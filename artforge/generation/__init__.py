"""Generation wing: make images with small generators on a laptop CPU.

Owns the built-in data (:mod:`.data`, :mod:`.procedural`, :mod:`.augment`), the model families
(:mod:`.models`, built from :mod:`.recipes`), training (:mod:`.training`) and its self-describing checkpoint
files (:mod:`.model_checkpoint`), sampling (:mod:`.sampling`) and quality scores (:mod:`.quality`,
:mod:`.featurenet`).  It knows nothing of keys, the registry, matching or the chain: registering what it
makes is the use-case layer's job (:mod:`artforge.usecases.generate`).
"""
