"""Values the command line shows in its help before any use case loads (``--help`` and tab completion stay fast).

Re-exported from the light modules of the wings that own them; importing this module loads no database,
image or network code.
"""

from __future__ import annotations

from artforge.chain import DEFAULT_PORT, DEFAULT_ROYALTY_BPS
from artforge.registry.licence_catalogue import TDM_VALUES

__all__ = ["DEFAULT_PORT", "DEFAULT_ROYALTY_BPS", "TDM_VALUES"]
