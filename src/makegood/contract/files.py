"""Reading and validating complaint files (CONTRACT.md section 1).

The one place where raw complaint data enters makegood. Every rule of the contract is
checked here, column by column and vectorised, so a million-row file validates in
seconds; everything downstream receives the *normalized* frame described in
``docs/design.md`` and trusts it.

A file either passes whole, or fails with one :class:`~makegood.errors.ContractError`
listing every violation (file, 1-based data row, complaint_id, column, rule and the bad
value). With ``quarantine=PATH`` the bad rows are set aside in a side file instead and
the good rows come back; problems with the file itself (missing column, unreadable,
empty, wrong extension) always reject it.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from makegood.errors import ConfigError, ContractError, Violation

if TYPE_CHECKING:
    from makegood.contract.catalog import Catalog

__all__ = [
    "PROFILE_COLUMNS",
    "COMPLAINT_COLUMNS",
    "EMOTIONS",
    "HISTORY_COLUMNS",
    "OUTCOME_COLUMNS",
    "SKILLS",
    "FilePart",
    "plan_parts",
    "read_complaints",
    "read_complaints_part",
    "read_history",
    "validate_complaints",
    "validate_history",
    "write_frame",
]

PathLike = str | os.PathLike[str]

HISTORY_COLUMNS: tuple[str, ...] = (
    "complaint_id",
    "customer_id",
    "opened_at",
    "channel",
    "issue_type",
    "severity",
    "emotion",
    "complaint_text",
    "disputed_amount",
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "segment",
    "prior_complaints_12m",
    "digital_skill",
    "resolution",
    "compensation",
    "logging_propensity",
    "satisfaction",
    "churned_90d",
)
OUTCOME_COLUMNS: tuple[str, ...] = (
    "resolution",
    "compensation",
    "logging_propensity",
    "satisfaction",
    "churned_90d",
)
COMPLAINT_COLUMNS: tuple[str, ...] = tuple(c for c in HISTORY_COLUMNS if c not in OUTCOME_COLUMNS)
#: The customer's profile among the complaint columns (the same for all of a customer's
#: complaints at a time; a service may remember them between complaints).
PROFILE_COLUMNS: tuple[str, ...] = (
    "tenure_months",
    "annual_value",
    "lifetime_value",
    "segment",
    "prior_complaints_12m",
    "digital_skill",
)
EMOTIONS: tuple[str, ...] = ("calm", "confused", "anxious", "frustrated", "angry")
SKILLS: tuple[str, ...] = ("low", "medium", "high")

# Columns a file may leave out; they are added to the normalized frame as "unknown".
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "emotion",
    "complaint_text",
    "digital_skill",
    "logging_propensity",
    "satisfaction",
)

_SUFFIXES = {".csv": "csv", ".parquet": "parquet"}
# Integers beyond 2**53 are not exact in float64, and nothing in a complaint is that large.
_MAX_INT = 2.0**53
# opened_at must fit datetime64[ns].
_TS_MIN = pd.Timestamp("1677-09-22", tz="UTC")
_TS_MAX = pd.Timestamp("2262-04-11", tz="UTC")
_SHOW_CHARS = 80


# --------------------------------------------------------------------------- public API


def read_history(
    path: PathLike,
    *,
    quarantine: PathLike | None = None,
    max_errors: int = 50,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Read and validate a complaint-history file (training input).

    Args:
        path: a ``.csv`` (UTF-8, header row) or ``.parquet`` file.
        quarantine: if given, rows breaking a rule are written to this file (CSV, or
            Parquet when it ends in ``.parquet``) with an ``errors`` column, and the good
            rows are returned. No file is created when every row is good.
        max_errors: how many violations the raised error carries (all are counted).
        catalog: if given, ``resolution`` must be one of its ids.

    Returns:
        The normalized frame (see ``docs/design.md``): contract columns in contract
        order with fixed dtypes, then unknown extra columns as read; RangeIndex.

    Raises:
        ContractError: the file breaks the contract (all violations, up to
            ``max_errors``; ``n_total`` counts all). Always raised for file-level
            problems, even with ``quarantine``.
        ConfigError: ``max_errors`` < 1 or ``quarantine`` is the input file.
    """
    df = _read_frame(path, quarantine)
    return validate_history(
        df, source=str(path), quarantine=quarantine, max_errors=max_errors, catalog=catalog
    )


def read_complaints(
    path: PathLike,
    *,
    quarantine: PathLike | None = None,
    max_errors: int = 50,
) -> pd.DataFrame:
    """Read and validate a file of new complaints (scoring input).

    Same as :func:`read_history` but the outcome columns (``OUTCOME_COLUMNS``) are not
    required; if present they are not validated and are kept as extra columns.

    Returns:
        The normalized complaints frame (``COMPLAINT_COLUMNS`` first, then extras).

    Raises:
        ContractError: the file breaks the contract.
        ConfigError: ``max_errors`` < 1 or ``quarantine`` is the input file.
    """
    df = _read_frame(path, quarantine)
    return validate_complaints(df, source=str(path), quarantine=quarantine, max_errors=max_errors)


def validate_history(
    df: pd.DataFrame,
    *,
    source: str = "<frame>",
    quarantine: PathLike | None = None,
    max_errors: int = 50,
    catalog: Catalog | None = None,
) -> pd.DataFrame:
    """Validate and normalize an in-memory history frame (any dtypes).

    ``source`` names the frame in violations. Returns and raises as :func:`read_history`.
    Validating an already normalized frame returns an equal frame.
    """
    return _validate(
        df,
        columns=HISTORY_COLUMNS,
        source=source,
        quarantine=quarantine,
        max_errors=max_errors,
        catalog=catalog,
    )


def validate_complaints(
    df: pd.DataFrame,
    *,
    source: str = "<frame>",
    quarantine: PathLike | None = None,
    max_errors: int = 50,
    row_offset: int = 0,
) -> pd.DataFrame:
    """Validate and normalize an in-memory complaints frame (any dtypes).

    ``source`` names the frame in violations; ``row_offset`` is the number of data rows
    of ``source`` before the frame's first (a part of a larger file), so violations name
    the row in the file. Returns and raises as :func:`read_complaints`.
    """
    return _validate(
        df,
        columns=COMPLAINT_COLUMNS,
        source=source,
        quarantine=quarantine,
        max_errors=max_errors,
        catalog=None,
        row_offset=row_offset,
    )


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
    fmt = _format_of(target)
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


# --------------------------------------------------------------------------- reading


def _format_of(path: Path) -> str:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        rule = (
            "file must end in .csv or .parquet (the format is chosen by extension). "
            f"Got {path.suffix or 'no extension'!r} instead."
        )
        raise ContractError([Violation(str(path), None, None, None, rule)])
    return fmt


def _read_csv(source: Path | io.BytesIO) -> pd.DataFrame:
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


def _file_error(path: PathLike, rule: str) -> ContractError:
    return ContractError([Violation(str(path), None, None, None, rule)])


def _parse(path: PathLike, fmt: str, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``read()`` with the reader's failures turned into a ContractError naming ``path``."""
    try:
        return read()
    except pd.errors.EmptyDataError:
        raise _file_error(path, "file is empty (no header row)") from None
    except UnicodeDecodeError as exc:
        rule = f"file is not valid UTF-8 text ({exc.reason} at byte {exc.start})"
        raise _file_error(path, rule) from None
    except (OSError, ValueError) as exc:
        raise _file_error(path, f"cannot read the file as {fmt.upper()}: {exc}") from None


def _read_frame(path: PathLike, quarantine: PathLike | None) -> pd.DataFrame:
    source = Path(path)
    fmt = _format_of(source)
    if quarantine is not None and Path(quarantine).resolve() == source.resolve():
        raise ConfigError(f"quarantine must differ from the input file. Got {str(path)!r}.")
    if not source.is_file():
        raise _file_error(path, "file not found")
    df = _parse(path, fmt, lambda: _read_csv(source) if fmt == "csv" else pd.read_parquet(source))
    if len(df) == 0:
        raise _file_error(path, "file has no data rows")
    return df


# --------------------------------------------------------------------------- partitions


@dataclass(frozen=True)
class FilePart:
    """A run of consecutive data rows of one complaint file: what one partition reads.

    ``row_offset`` data rows of ``path`` come before the part, so its rows are numbered
    ``row_offset + 1 ..`` in violations, as when the whole file is read. A CSV part also
    carries the byte range of its rows and the length of the header line.
    """

    path: str
    row_offset: int
    n_rows: int
    byte_range: tuple[int, int] | None = None
    header_bytes: int = 0


_SCAN_BLOCK = 1 << 24


def plan_parts(path: PathLike, rows_per_part: int) -> list[FilePart]:
    """Split a complaint file, or a folder of Parquet files, into parts of at most
    ``rows_per_part`` data rows, without loading it.

    A CSV is scanned once for row boundaries (newlines outside double quotes; blank lines
    are not rows, as for the reader); Parquet row counts come from the file footers. A
    folder means every ``*.parquet`` file in it, in name order.

    Raises:
        ContractError: missing or empty file, wrong extension, a folder without Parquet.
        ConfigError: ``rows_per_part`` < 1.
    """
    if isinstance(rows_per_part, bool) or not isinstance(rows_per_part, int) or rows_per_part < 1:
        raise ConfigError(f"rows_per_part must be an integer >= 1. Got {rows_per_part!r} instead.")
    source = Path(path)
    if source.is_dir():
        files = sorted(
            p
            for p in source.iterdir()
            if p.suffix.lower() == ".parquet" and p.is_file() and not p.name.startswith((".", "_"))
        )
        if not files:
            raise _file_error(path, "folder holds no .parquet files")
    else:
        files = [source]
    parts: list[FilePart] = []
    for f in files:
        fmt = _format_of(f)
        if not f.is_file():
            raise _file_error(f, "file not found")
        found = _csv_parts(f, rows_per_part) if fmt == "csv" else _parquet_parts(f, rows_per_part)
        if not found:
            raise _file_error(f, "file has no data rows")
        parts += found
    return parts


def _csv_parts(path: Path, rows_per_part: int) -> list[FilePart]:
    size = path.stat().st_size
    if size == 0:
        raise _file_error(path, "file is empty (no header row)")
    parity, offset, line_start, last_byte = 0, 0, 0, 0
    header_end: int | None = None
    n_rows = 0
    part_starts: list[int] = []

    def rows_at(starts: np.ndarray, ends: np.ndarray, cr: np.ndarray) -> None:
        nonlocal header_end, n_rows
        if header_end is None and starts.size:
            header_end = int(ends[0])
            starts, ends, cr = starts[1:], ends[1:], cr[1:]
        blank = (ends - starts - 1 - cr) <= 0
        data = starts[~blank]
        idx = n_rows + np.arange(data.size)
        part_starts.extend(data[idx % rows_per_part == 0].tolist())
        n_rows += int(data.size)

    with path.open("rb") as fh:
        while block := fh.read(_SCAN_BLOCK):
            a = np.frombuffer(block, dtype=np.uint8)
            quote_at = np.flatnonzero(a == 34)
            nl = np.flatnonzero(a == 10)
            # a newline ends a row when an even number of quotes came before it
            nl = nl[(np.searchsorted(quote_at, nl) + parity) % 2 == 0]
            if nl.size:
                ends = nl + offset + 1
                starts = np.concatenate([[line_start], ends[:-1]]).astype(np.int64)
                before = np.where(nl > 0, a[np.maximum(nl - 1, 0)], last_byte)
                rows_at(starts, ends, (before == 13).astype(np.int64))
                line_start = int(ends[-1])
            parity = (parity + quote_at.size) % 2
            last_byte = int(a[-1])
            offset += a.size
    if line_start < size:  # a last line without a newline
        cr = np.array([1 if last_byte == 13 else 0])
        rows_at(np.array([line_start]), np.array([size + 1]), cr)
    bounds = [*part_starts, size]
    return [
        FilePart(
            str(path),
            j * rows_per_part,
            min(rows_per_part, n_rows - j * rows_per_part),
            (bounds[j], bounds[j + 1]),
            header_end or 0,
        )
        for j in range(len(part_starts))
    ]


def _parquet_parts(path: Path, rows_per_part: int) -> list[FilePart]:
    import pyarrow.parquet as pq

    n = _parse(path, "parquet", lambda: pq.ParquetFile(path)).metadata.num_rows
    return [
        FilePart(str(path), start, min(rows_per_part, n - start))
        for start in range(0, n, rows_per_part)
    ]


def _read_part_raw(part: FilePart) -> pd.DataFrame:
    path = Path(part.path)
    if part.byte_range is not None:
        start, end = part.byte_range
        with path.open("rb") as fh:
            head = fh.read(part.header_bytes)
            fh.seek(start)
            body = fh.read(end - start)
        return _parse(path, "csv", lambda: _read_csv(io.BytesIO(head + body)))

    def read_parquet() -> pd.DataFrame:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        meta = pf.metadata
        lo, hi = part.row_offset, part.row_offset + part.n_rows
        groups, first, at = [], None, 0
        for g in range(meta.num_row_groups):
            n_g = meta.row_group(g).num_rows
            if at < hi and at + n_g > lo:
                groups.append(g)
                first = at if first is None else first
            at += n_g
        table = pf.read_row_groups(groups)
        return table.slice(lo - (first or 0), part.n_rows).to_pandas()

    return _parse(path, "parquet", read_parquet)


def read_complaints_part(part: FilePart, *, max_errors: int = 50) -> pd.DataFrame:
    """Read and validate one part of a complaint file (see :func:`plan_parts`).

    Violations name the file and the row in the whole file. Uniqueness of complaint_id is
    checked within the part; across parts it is the caller's to check.

    Raises:
        ContractError: as :func:`read_complaints`, or the part's rows do not match the
            plan (a quote character outside a quoted field breaks the row scan).
    """
    df = _read_part_raw(part)
    if len(df) != part.n_rows:
        raise _file_error(
            part.path,
            f"cannot split the file into parts at row boundaries (rows {part.row_offset + 1}.."
            f"{part.row_offset + part.n_rows} read as {len(df)}): a double quote outside a "
            "quoted field? Read it with the single-process engine.",
        )
    return validate_complaints(
        df, source=part.path, max_errors=max_errors, row_offset=part.row_offset
    )


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class _Failure:
    """Rows breaking one rule of one column (positions ascending)."""

    column: str
    positions: np.ndarray
    rule: str
    shown: pd.Series  # the column as text, for quoting the bad value
    detail: Callable[[np.ndarray], np.ndarray] | None = None

    def messages(self, positions: np.ndarray) -> np.ndarray:
        """Messages for a subset of ``self.positions``, vectorised."""
        if self.detail is not None:
            return self.detail(positions)
        values = self.shown.iloc[positions].str.slice(0, _SHOW_CHARS)
        quoted = ("'" + values + "'").where(values.ne(""), "an empty value")
        return (self.rule + " Got " + quoted + " instead.").to_numpy(dtype=object)


def _fail(column: str, bad: np.ndarray, rule: str, shown: pd.Series) -> list[_Failure]:
    positions = np.flatnonzero(bad)
    return [_Failure(column, positions, rule, shown)] if positions.size else []


def _as_text(s: pd.Series) -> pd.Series:
    """Any column as ``str`` dtype, missing values as ""."""
    return s.astype("str").fillna("")


def _is_number_dtype(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype)


def _to_float(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, missing, unparsable) for a column holding numbers or number text."""
    if _is_number_dtype(s):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(values)
        return values, missing, np.zeros(len(s), dtype=bool)
    text = _as_text(s).str.strip()
    missing = text.eq("").to_numpy()
    values = _parse_floats(text)
    return values, missing, np.isnan(values) & ~missing


def _parse_floats(text: pd.Series) -> np.ndarray:
    """Stripped number text as float64; NaN where empty or not a number."""
    try:
        # Arrow's parser is ~8x faster than pd.to_numeric but all-or-nothing: it is the
        # fast path for clean columns, to_numeric finds the bad values otherwise.
        arrow = pa.array(text.where(text.ne(""), None).array)
        return pc.cast(arrow, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _check_text(s: pd.Series, column: str, lower: bool) -> tuple[pd.Series, list[_Failure]]:
    text = _as_text(s).str.strip()
    if lower:
        text = text.str.lower()
    rule = f"{column} must be a non-empty string."
    return text, _fail(column, text.eq("").to_numpy(), rule, _as_text(s))


def _check_choice(
    s: pd.Series, column: str, allowed: tuple[str, ...]
) -> tuple[pd.Series, list[_Failure]]:
    text = _as_text(s).str.strip().str.lower()
    missing = text.eq("")
    bad = (~missing & ~text.isin(allowed)).to_numpy()
    rule = f"{column} must be empty or one of {', '.join(allowed)}."
    return text.where(~missing, np.nan), _fail(column, bad, rule, _as_text(s))


def _check_number(
    s: pd.Series,
    column: str,
    *,
    rule: str,
    low: float,
    high: float = np.inf,
    low_open: bool = False,
    required: bool = True,
    integer: bool = False,
) -> tuple[np.ndarray, list[_Failure]]:
    values, missing, _ = _to_float(s)
    with np.errstate(invalid="ignore"):
        in_range = (values > low if low_open else values >= low) & (values <= high)
        ok = np.isfinite(values) & in_range
        if integer:
            ok &= (values == np.floor(values)) & (np.abs(values) <= _MAX_INT)
    bad = ~ok & ~missing  # unparsable text is NaN, so not ok
    if required:
        bad |= missing
    failures = _fail(column, bad, rule, _as_text(s))
    if integer:
        return np.where(bad | missing, 0, values).astype("int64"), failures
    return np.where(bad, np.nan, values), failures


def _check_timestamp(s: pd.Series, column: str) -> tuple[pd.Series, list[_Failure]]:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        stamps = s if getattr(s.dtype, "tz", None) else s.dt.tz_localize("UTC")
        stamps = stamps.dt.tz_convert("UTC")
        missing = stamps.isna().to_numpy()
        unparsable = np.zeros(len(s), dtype=bool)
    else:
        text = _as_text(s).str.strip()
        missing = text.eq("").to_numpy()
        # Aware stamps are converted to UTC; naive ones are taken as UTC already.
        stamps = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        unparsable = stamps.isna().to_numpy() & ~missing
    out_of_range = ((stamps < _TS_MIN) | (stamps > _TS_MAX)).to_numpy()
    bad = missing | unparsable | out_of_range
    rule = (
        f"{column} must be an ISO-8601 timestamp (e.g. 2024-03-01T14:30:00Z) "
        f"between {_TS_MIN:%Y-%m-%d} and {_TS_MAX:%Y-%m-%d}."
    )
    stamps = stamps.where(~bad, pd.NaT).dt.tz_localize(None).astype("datetime64[ns]")
    return stamps, _fail(column, bad, rule, _as_text(s))


def _check_flag(s: pd.Series, column: str) -> tuple[np.ndarray, list[_Failure]]:
    if _is_number_dtype(s):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
    else:
        text = _as_text(s).str.strip().str.lower()
        ones, zeros = text.isin(("1", "true")).to_numpy(), text.isin(("0", "false")).to_numpy()
        values = np.where(ones, 1.0, np.where(zeros, 0.0, np.nan))
        rest = np.flatnonzero(~(ones | zeros))
        if rest.size:  # "1.0", "0.00" and the like
            values[rest] = _parse_floats(text.iloc[rest])
    bad = ~((values == 0.0) | (values == 1.0))
    rule = f"{column} must be one of 0, 1, true, false."
    return np.where(bad, 0, values).astype("int64"), _fail(column, bad, rule, _as_text(s))


def _check_unique(
    ids: pd.Series, column: str, shown: pd.Series, row_offset: int = 0
) -> list[_Failure]:
    """Second and later occurrences of a non-empty id are the bad rows."""
    duplicated = (ids.duplicated(keep="first") & ids.ne("")).to_numpy()
    if not duplicated.any():
        return []
    firsts = ids.drop_duplicates(keep="first")
    first_of = pd.Index(firsts.to_numpy())

    def detail(positions: np.ndarray) -> np.ndarray:
        values = ids.iloc[positions]
        first_rows = (
            firsts.index.to_numpy()[first_of.get_indexer(values.to_numpy())] + 1 + row_offset
        )
        text = (
            f"{column} must be unique. Got '"
            + values.str.slice(0, _SHOW_CHARS)
            + "' again (first at row "
            + pd.Series(first_rows, index=values.index).astype("str")
            + ")."
        )
        return text.to_numpy(dtype=object)

    rule = f"{column} must be unique."
    return [_Failure(column, np.flatnonzero(duplicated), rule, shown, detail)]


def _check_column(s: pd.Series, column: str) -> tuple[pd.Series | np.ndarray, list[_Failure]]:
    """Normalized values and failures for one contract column."""
    match column:
        case "complaint_id" | "customer_id" | "resolution":
            return _check_text(s, column, lower=False)
        case "channel" | "issue_type" | "segment":
            return _check_text(s, column, lower=True)
        case "opened_at":
            return _check_timestamp(s, column)
        case "severity":
            rule = "severity must be an integer from 1 to 5."
            return _check_number(s, column, rule=rule, low=1, high=5, integer=True)
        case "tenure_months" | "prior_complaints_12m":
            rule = f"{column} must be an integer >= 0."
            return _check_number(s, column, rule=rule, low=0, integer=True)
        case "disputed_amount" | "annual_value" | "lifetime_value" | "compensation":
            rule = f"{column} must be a finite number >= 0."
            return _check_number(s, column, rule=rule, low=0)
        case "logging_propensity":
            rule = "logging_propensity must be empty or a number in (0, 1]."
            return _check_number(s, column, rule=rule, low=0, high=1, low_open=True, required=False)
        case "satisfaction":
            rule = "satisfaction must be empty or a number from 0 to 10."
            return _check_number(s, column, rule=rule, low=0, high=10, required=False)
        case "emotion":
            return _check_choice(s, column, EMOTIONS)
        case "digital_skill":
            return _check_choice(s, column, SKILLS)
        case "complaint_text":
            return _as_text(s), []
        case "churned_90d":
            return _check_flag(s, column)
    raise AssertionError(f"no rule for column {column!r}")  # pragma: no cover


def _absent(column: str, n_rows: int) -> pd.Series | np.ndarray:
    """The normalized value of an optional column the input left out: unknown."""
    if column == "complaint_text":
        return pd.Series([""] * n_rows, dtype="str")
    if column in ("emotion", "digital_skill"):
        return pd.Series([np.nan] * n_rows, dtype="str")
    return np.full(n_rows, np.nan)


# --------------------------------------------------------------------------- validation


def _missing_column_rule(column: str, present: list[str]) -> str:
    rule = "required column is missing"
    near = [c for c in present if c.strip().lower() == column and c != column]
    if near:
        rule += f" (found {near[0]!r}; column names are case-sensitive and exact)"
    return rule + "."


def _validate(
    df: pd.DataFrame,
    *,
    columns: tuple[str, ...],
    source: str,
    quarantine: PathLike | None,
    max_errors: int,
    catalog: Catalog | None,
    row_offset: int = 0,
) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame. Got {type(df).__name__} instead.")
    if isinstance(max_errors, bool) or not isinstance(max_errors, int) or max_errors < 1:
        raise ConfigError(f"max_errors must be an integer >= 1. Got {max_errors!r} instead.")

    raw = df.reset_index(drop=True)
    n_rows = len(raw)
    names = [str(c) for c in raw.columns]
    file_violations: list[Violation] = []
    for name in sorted({c for c in names if names.count(c) > 1}):
        file_violations.append(
            Violation(source, None, None, name, "column appears more than once.")
        )
    for column in columns:
        if column not in raw.columns and column not in OPTIONAL_COLUMNS:
            rule = _missing_column_rule(column, names)
            file_violations.append(Violation(source, None, None, column, rule))
    if file_violations:
        # The other columns are still checked below, so one run reports everything.
        raw = raw.loc[:, ~raw.columns.duplicated()]

    normalized: dict[str, pd.Series | np.ndarray] = {}
    failures: list[_Failure] = []
    for column in columns:
        if column not in raw.columns:
            if column in OPTIONAL_COLUMNS:
                normalized[column] = _absent(column, n_rows)
            continue
        values, found = _check_column(raw[column], column)
        normalized[column] = values
        failures.extend(found)

    ids = normalized.get("complaint_id")
    if isinstance(ids, pd.Series):
        failures.extend(
            _check_unique(ids, "complaint_id", _as_text(raw["complaint_id"]), row_offset)
        )
    resolution = normalized.get("resolution")
    if catalog is not None and isinstance(resolution, pd.Series):
        known = list(catalog.ids)
        bad = (resolution.ne("") & ~resolution.isin(known)).to_numpy()
        rule = f"resolution must be a resolution id from the catalog ({', '.join(known)})."
        failures.extend(_fail("resolution", bad, rule, _as_text(raw["resolution"])))

    order = {c: i for i, c in enumerate(columns)}
    failures.sort(key=lambda f: order[f.column])  # stable: the unique rule after non-empty
    ids_text = ids if isinstance(ids, pd.Series) else None

    if file_violations or (failures and quarantine is None):
        row_violations, n_row_total = _first_violations(
            failures, source, ids_text, max_errors - len(file_violations), row_offset
        )
        violations = file_violations + row_violations
        raise ContractError(violations[:max_errors], n_total=len(file_violations) + n_row_total)

    frame = _assemble(normalized, raw, columns, n_rows)
    if not failures:
        return frame
    assert quarantine is not None
    bad_rows = _quarantine(raw, failures, quarantine)
    keep = np.ones(n_rows, dtype=bool)
    keep[bad_rows] = False
    return frame.loc[keep].reset_index(drop=True)


def _first_violations(
    failures: list[_Failure],
    source: str,
    ids: pd.Series | None,
    limit: int,
    row_offset: int = 0,
) -> tuple[list[Violation], int]:
    """The first ``limit`` violations in (row, column) order, and the count of all."""
    n_total = sum(f.positions.size for f in failures)
    if limit <= 0 or not failures:
        return [], n_total
    # The first `limit` overall lie among each rule's first `limit`.
    heads = [f.positions[:limit] for f in failures]
    rows = np.concatenate(heads)
    which = np.concatenate([np.full(head.size, i) for i, head in enumerate(heads)])
    chosen = np.lexsort((which, rows))[:limit]
    violations = []
    for k in chosen:
        failure, row = failures[which[k]], int(rows[k])
        message = str(failure.messages(np.array([row]))[0])
        complaint_id = ids.iloc[row] if ids is not None else ""
        violations.append(
            Violation(source, row + 1 + row_offset, complaint_id or None, failure.column, message)
        )
    return violations, n_total


def _assemble(
    normalized: dict[str, pd.Series | np.ndarray],
    raw: pd.DataFrame,
    columns: tuple[str, ...],
    n_rows: int,
) -> pd.DataFrame:
    index = pd.RangeIndex(n_rows)
    data: dict[str, pd.Series] = {}
    for column in columns:
        values = normalized[column]
        if isinstance(values, pd.Series):
            data[column] = values.set_axis(index)
        else:
            data[column] = pd.Series(values, index=index)
    for column in raw.columns:
        if column not in data:
            data[column] = raw[column]
    return pd.DataFrame(data, index=index)


def _quarantine(raw: pd.DataFrame, failures: list[_Failure], path: PathLike) -> np.ndarray:
    """Write the bad rows as read, plus an ``errors`` column; return their positions."""
    bad_rows = np.unique(np.concatenate([f.positions for f in failures]))
    errors = pd.Series("", index=bad_rows, dtype="str")
    for failure in failures:  # one vectorised pass per rule, in column order
        text = pd.Series(failure.messages(failure.positions), index=failure.positions, dtype="str")
        text = text.reindex(bad_rows, fill_value="")
        glue = np.where(errors.ne("") & text.ne(""), "; ", "")
        errors = errors + glue + text
    aside = raw.iloc[bad_rows].copy()
    aside["errors"] = errors.to_numpy()
    write_frame(aside, path)
    return bad_rows
