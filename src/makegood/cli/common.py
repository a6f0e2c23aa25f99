"""What every command shares: a one-line failure on stderr with the right exit code, and
a progress display of long work's stages."""

from __future__ import annotations

import sys
import time
from typing import Any

import typer

from makegood.errors import ConfigError, ContractError


def console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


class Stages:
    """Prints each stage with the time it took (a progress display for long work)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.console = console()
        self.status: Any = None

    def __enter__(self) -> Stages:
        if not self.quiet:
            status = self.console.status("starting")
            status.__enter__()
            self.status = status
        return self

    def __call__(self, msg: str) -> None:
        if self.quiet:
            return
        el = time.perf_counter() - self.t0
        self.console.log(f"[{el:6.1f}s] {msg}")
        if self.status is not None:
            self.status.update(msg)

    def __exit__(self, *exc) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)


def fail(err: Exception) -> None:
    """One line naming the problem on stderr; exit 2 for bad input or options, else 1."""
    msg = str(err).splitlines()[0] if str(err) else type(err).__name__
    print(f"makegood: error: {msg}", file=sys.stderr)
    if isinstance(err, ContractError) and len(err.violations) > 1:
        print(err.report(), file=sys.stderr)
    raise typer.Exit(code=2 if isinstance(err, (ContractError, ConfigError)) else 1)
