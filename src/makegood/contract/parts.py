"""Partitions of a complaint file: row runs planned without loading it, each read alone."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from makegood.contract.reading import PathLike, file_error, format_of, parse_file, read_csv
from makegood.contract.validation import validate_complaints
from makegood.errors import ConfigError

__all__ = ["FilePart", "plan_parts", "read_complaints_part"]


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
            raise file_error(path, "folder holds no .parquet files")
    else:
        files = [source]
    parts: list[FilePart] = []
    for f in files:
        fmt = format_of(f)
        if not f.is_file():
            raise file_error(f, "file not found")
        found = _csv_parts(f, rows_per_part) if fmt == "csv" else _parquet_parts(f, rows_per_part)
        if not found:
            raise file_error(f, "file has no data rows")
        parts += found
    return parts


def _csv_parts(path: Path, rows_per_part: int) -> list[FilePart]:
    size = path.stat().st_size
    if size == 0:
        raise file_error(path, "file is empty (no header row)")
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

    n = parse_file(path, "parquet", lambda: pq.ParquetFile(path)).metadata.num_rows
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
        return parse_file(path, "csv", lambda: read_csv(io.BytesIO(head + body)))

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

    return parse_file(path, "parquet", read_parquet)


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
        raise file_error(
            part.path,
            f"cannot split the file into parts at row boundaries (rows {part.row_offset + 1}.."
            f"{part.row_offset + part.n_rows} read as {len(df)}): a double quote outside a "
            "quoted field? Read it with the single-process engine.",
        )
    return validate_complaints(
        df, source=part.path, max_errors=max_errors, row_offset=part.row_offset
    )
