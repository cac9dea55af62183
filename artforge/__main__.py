"""``python -m artforge``."""

from artforge.cli import main

main()
