"""Read a delimited text file as text columns, catching structural faults before any validation runs.

Rules (docs/data_formats.md): UTF-8 (with or without BOM) is expected; a file that is not valid UTF-8 is
read as Windows-1252 (Excel's export encoding, a superset of Latin-1 for printable text) with a warning, so
one stray byte in a street name does not lose a month of crime. Only commas separate fields: a file whose
header splits on ';' or tab but not on ',' is rejected. Header names are matched ignoring case, spaces and a
BOM. An empty file, a header without rows, a missing column or a ragged line is an InputFileError.
"""

from __future__ import annotations

import csv
import difflib
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from hotspots.validation.core import InputFileError

log = logging.getLogger(__name__)

ROW_COLUMN = "source_row"


def header_key(name: str) -> str:
    """Normalised header used for matching: case, spaces, underscores and a BOM ignored."""
    return re.sub(r"[\s_\ufeff]+", "", str(name)).lower()


def decode(path: Path) -> str:
    """File text as UTF-8, or Windows-1252 (then Latin-1) with a warning naming the first bad byte."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        log.warning(
            "%s is not valid UTF-8 (byte 0x%02x at offset %d); reading it as Windows-1252. "
            "Re-export the file as UTF-8 to silence this warning.",
            path,
            data[exc.start],
            exc.start,
        )
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def match_columns(found: list[str], required: list[str], *, path: Path, hint: str = "") -> dict[str, str]:
    """Map each required column to the file's header (case/space-insensitive) or raise naming the gap."""
    by_key = {header_key(c): c for c in found}
    mapping: dict[str, str] = {}
    for column in required:
        actual = by_key.get(header_key(column))
        if actual is None:
            close = difflib.get_close_matches(column, found, n=1, cutoff=0.5)
            suggestion = f" The file has {close[0]!r}: is it the same column renamed?" if close else ""
            raise InputFileError(
                f"{path}: required column {column!r} is missing (header: {found}).{suggestion} "
                f"Restore the column name {column!r} in the export{hint} and drop the file in the landing folder again."
            )
        mapping[column] = actual
    return mapping


def read_parquet_file(path: Path, what: str) -> pd.DataFrame:
    """A Parquet file as a DataFrame; an unreadable or empty file raises InputFileError naming it."""
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputFileError(f"{path}: cannot be read as Parquet ({exc}). Export the {what} again.") from exc
    if frame.empty:
        raise InputFileError(
            f"{path}: the {what} has no rows. Export it again (the task stays failed so the gap is not silent)."
        )
    return frame


def check_text(path: Path, head: bytes) -> None:
    """A compressed or binary file is not a CSV: say so, before the CSV parser chokes on its bytes."""
    if head[:2] == b"\x1f\x8b" or head[:4] == b"PK\x03\x04" or b"\x00" in head[:4096]:
        raise InputFileError(
            f"{path}: the file is compressed (gzip or zip) or binary, not CSV text. Unpack it and drop the .csv itself."
        )


def _header(data: bytes) -> list[str] | None:
    """The header line's names, or None when it is not valid UTF-8 (the caller falls back to decode)."""
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return next(csv.reader([line]))


def _check_delimiter(path: Path, data: bytes, header: list[str]) -> None:
    if len(header) == 1:
        line = data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
        for delimiter, name in ((";", "semicolons"), ("\t", "tabs")):
            if delimiter in line:
                raise InputFileError(
                    f"{path}: the header is separated by {name}, not commas (column {line[:60]!r}...). "
                    "Save the file as comma-separated CSV (in Excel: 'CSV UTF-8 (Comma delimited)') and drop it again."
                )


def _parse(data: bytes, width: int) -> pa.Table:
    """The rows after the header as ``width`` text columns c0.. (Arrow keeps the file's row order). Quoted
    newlines are first assumed absent (the fast, parallel parse) and allowed on a retry."""
    names = [f"c{i}" for i in range(width)]
    read = pa_csv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 22)
    convert = pa_csv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False
    )
    try:
        return pa_csv.read_csv(pa.py_buffer(data), read_options=read, convert_options=convert)
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc):
            raise
        return pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=read,
            convert_options=convert,
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        )


def _unique_names(header: list[str]) -> list[str]:
    """Header names stripped of a BOM and spaces; a repeated name gets .1, .2 (as pandas does)."""
    seen: dict[str, int] = {}
    names = []
    for raw in header:
        name = str(raw).lstrip("\ufeff").strip()
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def read_csv_table(path: Path, required: list[str], *, hint: str = "") -> pa.Table:
    """The file as an Arrow table: source_row (1 = first data row, in file order), then every column as text
    ('' for empty), required columns renamed to their canonical names. Structural faults raise InputFileError."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found. Check the landing folder and the path passed to the task.")
    data = path.read_bytes()
    check_text(path, data)
    if not data[: 1 << 16].strip() and not data.strip():
        raise InputFileError(f"{path}: the file is empty (0 data rows, no header). Export the file again.")
    header = _header(data)
    table = None
    if header is not None:
        _check_delimiter(path, data, header)
        try:
            table = _parse(data, len(header))
        except pa.ArrowInvalid as exc:
            if "UTF8" not in str(exc):
                raise _parse_error(path, exc) from exc
    if table is None:  # not UTF-8: decode() warns and falls back to Windows-1252
        data = decode(path).encode("utf-8")
        header = _header(data) or []
        _check_delimiter(path, data, header)
        try:
            table = _parse(data, len(header))
        except pa.ArrowInvalid as exc:
            raise _parse_error(path, exc) from exc
    if table.num_rows == 0:
        raise InputFileError(
            f"{path}: the file has a header but no data rows. A month with no records is almost always a failed "
            "export: export it again (the task stays failed so the gap is not silent)."
        )
    names = _unique_names(header)
    mapping = match_columns(names, required, path=path, hint=hint)
    canonical = {actual: name for name, actual in mapping.items()}
    table = table.rename_columns([canonical.get(name, name) for name in names])
    return table.add_column(0, ROW_COLUMN, pa.array(np.arange(1, table.num_rows + 1, dtype="int64")))


def _parse_error(path: Path, exc: Exception) -> InputFileError:
    return InputFileError(
        f"{path}: cannot be parsed as CSV ({exc}). Check that fields containing commas are quoted "
        "and every line has the same number of fields as the header."
    )


def read_text_csv(path: Path, required: list[str], *, hint: str = "") -> pd.DataFrame:
    """All columns as text ('' for empty), required columns renamed to their canonical names, plus source_row."""
    return read_csv_table(path, required, hint=hint).to_pandas()
