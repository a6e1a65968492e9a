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
import io
import logging
import re
from pathlib import Path

import pandas as pd

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
            path, data[exc.start], exc.start,
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
        raise InputFileError(f"{path}: the {what} has no rows. Export it again (the task stays failed so the gap is not silent).")
    return frame


def read_text_csv(path: Path, required: list[str], *, hint: str = "") -> pd.DataFrame:
    """All columns as text ('' for empty), required columns renamed to their canonical names, plus source_row."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found. Check the landing folder and the path passed to the task.")
    text = decode(path)
    if not text.strip():
        raise InputFileError(f"{path}: the file is empty (0 data rows, no header). Export the file again.")
    header_line = text.splitlines()[0]
    header = next(csv.reader([header_line]))
    if len(header) == 1:
        for delimiter, name in ((";", "semicolons"), ("\t", "tabs")):
            if delimiter in header_line:
                raise InputFileError(
                    f"{path}: the header is separated by {name}, not commas (column {header_line[:60]!r}...). "
                    "Save the file as comma-separated CSV (in Excel: 'CSV UTF-8 (Comma delimited)') and drop it again."
                )
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, on_bad_lines="error")
    except (pd.errors.ParserError, csv.Error) as exc:
        raise InputFileError(
            f"{path}: cannot be parsed as CSV ({exc}). Check that fields containing commas are quoted "
            "and every line has the same number of fields as the header."
        ) from exc
    frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
    if frame.empty:
        raise InputFileError(
            f"{path}: the file has a header but no data rows. A month with no records is almost always a failed "
            "export: export it again (the task stays failed so the gap is not silent)."
        )
    mapping = match_columns(list(frame.columns), required, path=path, hint=hint)
    frame = frame.rename(columns={actual: canonical for canonical, actual in mapping.items()})
    frame.insert(0, ROW_COLUMN, range(1, len(frame) + 1))
    return frame
