"""``python -m makegood.cli``: the same as the ``makegood`` command."""

from makegood.cli.main import main

main()
