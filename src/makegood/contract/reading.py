"""Complaint files on disk: the format by extension, the raw read, and the atomic write."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from makegood.errors import ConfigError, ContractError, Violation

__all__ = [
    "PathLike",
    "file_error",
    "format_of",
    "parse_file",
    "read_csv",
    "read_frame",
    "write_frame",
]

PathLike = str | os.PathLike[str]

_SUFFIXES = {".csv": "csv", ".parquet": "parquet"}


def write_frame(df: pd.DataFrame, path: PathLike) -> Path:
    """Write ``df`` to ``path`` as CSV or Parquet (by extension), atomically.

    The frame goes to a temporary file in the target directory, which is then renamed
    over ``path``: readers never see a half-written file. Parent directories are
    created. The index is not written.

    Returns:
        The path written, as a :class:`~pathlib.Path`.

    Raises:
        ContractError: the extension is neither ``.csv`` nor ``.parquet``.
    """
    target = Path(path)
    fmt = format_of(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its 0600 mode would survive the rename.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        if fmt == "csv":
            df.to_csv(tmp, index=False, encoding="utf-8")
        else:
            df.to_parquet(tmp, index=False)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def format_of(path: Path) -> str:
    """``"csv"`` or ``"parquet"``, by the extension of ``path``.

    Raises:
        ContractError: any other extension.
    """
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        rule = (
            "file must end in .csv or .parquet (the format is chosen by extension). "
            f"Got {path.suffix or 'no extension'!r} instead."
        )
        raise ContractError([Violation(str(path), None, None, None, rule)])
    return fmt


def read_csv(source: Path | io.BytesIO) -> pd.DataFrame:
    """A CSV as read, every value a string ("" when empty); ragged rows are padded."""
    # All text, nothing guessed: the rules are checked on the raw strings.
    options = {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig"}
    try:
        # Arrow's reader is ~4x faster; it refuses ragged rows, which the C reader below
        # fills with "" so that the row-level rules (and quarantine) deal with them.
        return pd.read_csv(source, engine="pyarrow", **options)
    except pd.errors.EmptyDataError:
        raise
    except ValueError:
        if isinstance(source, io.BytesIO):
            source.seek(0)
        return pd.read_csv(source, engine="c", **options)


def file_error(path: PathLike, rule: str) -> ContractError:
    """The error of a problem with the file itself (no row, no column)."""
    return ContractError([Violation(str(path), None, None, None, rule)])


def parse_file(path: PathLike, fmt: str, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``read()`` with the reader's failures turned into a ContractError naming ``path``."""
    try:
        return read()
    except pd.errors.EmptyDataError:
        raise file_error(path, "file is empty (no header row)") from None
    except UnicodeDecodeError as exc:
        rule = f"file is not valid UTF-8 text ({exc.reason} at byte {exc.start})"
        raise file_error(path, rule) from None
    except (OSError, ValueError) as exc:
        raise file_error(path, f"cannot read the file as {fmt.upper()}: {exc}") from None


def read_frame(path: PathLike, quarantine: PathLike | None) -> pd.DataFrame:
    """The data rows of a ``.csv`` or ``.parquet`` file as read, not yet validated.

    Raises:
        ContractError: missing, empty or unreadable file, or another extension.
        ConfigError: ``quarantine`` is the file itself.
    """
    source = Path(path)
    fmt = format_of(source)
    if quarantine is not None and Path(quarantine).resolve() == source.resolve():
        raise ConfigError(f"quarantine must differ from the input file. Got {str(path)!r}.")
    if not source.is_file():
        raise file_error(path, "file not found")
    df = parse_file(
        path, fmt, lambda: read_csv(source) if fmt == "csv" else pd.read_parquet(source)
    )
    if len(df) == 0:
        raise file_error(path, "file has no data rows")
    return df
