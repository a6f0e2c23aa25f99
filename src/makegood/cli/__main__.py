"""``python -m makegood.cli``: the same command line as ``makegood``."""

from makegood.cli.main import main

main()
