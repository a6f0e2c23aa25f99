"""The ``makegood`` command line: :mod:`.main` holds the app and the core commands and adds
the others (``serve``, ``db``, ``report``, ``models``) explicitly."""

from makegood.cli.main import app, main

__all__ = ["app", "main"]
