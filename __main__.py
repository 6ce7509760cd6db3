"""``python -m asyncfix``."""

from asyncfix.cli import main

main(prog_name="asyncfix")
