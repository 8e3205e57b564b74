"""Reading a transactions CSV as text: its encoding, its header, its numbers.

``read_header`` reads only the first line (so a mapping is checked before the file is
parsed); ``read_csv_text`` decodes the whole file, UTF-8 or else Latin-1, and refuses a file
that mixes both with the lines named; ``read_numbers`` parses a numeric column and refuses
``inf``, ``nan`` and magnitudes above ``MAX_NUMBER`` with their row.
"""

from __future__ import annotations

import difflib
import io
from pathlib import Path

import pandas as pd

from tools.errors import DataNotFoundError, DataValidationError, ToolInputError
from tools.shop.columns import MAX_NUMBER

#: How each encoding is named in the import notes.
ENCODING_NAMES = {"utf-8": "UTF-8", "latin-1": "Latin-1"}


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _decode(raw: bytes, path: Path, encoding: str) -> tuple[str, str]:
    """Decode a whole file; ``"auto"`` is UTF-8, else Latin-1 when no line is UTF-8.

    Raises:
        DataValidationError: a byte the chosen encoding cannot read (line named), or, in
            ``auto``, a file mixing UTF-8 lines with lines in another encoding (both named).
    """
    if encoding != "auto":
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            raise DataValidationError(
                f"{path} line {_line_of(raw, exc.start)}: byte 0x{raw[exc.start]:02X} cannot be "
                f"read as {encoding}; check the file's encoding (--encoding)"
            ) from None
        except LookupError:
            raise ToolInputError(f"--encoding {encoding!r} is not a known encoding") from None
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    bad: list[int] = []
    utf8: list[int] = []
    for n, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8.append(n)
        except UnicodeDecodeError:
            bad.append(n)
    if utf8:
        shown = ", ".join(str(n) for n in bad[:10])
        if len(bad) > 10:
            shown += f" and {len(bad) - 10} more"
        raise DataValidationError(
            f"{path}: the file mixes encodings: {len(utf8):,} line(s) are UTF-8 (first: line "
            f"{utf8[0]}) but {len(bad):,} are not (lines {shown}); reading it whole as either "
            "would garble one part. Re-save the file as UTF-8, or pass --encoding to read it "
            "all in one encoding"
        )
    return raw.decode("latin-1"), "latin-1"


def read_csv_text(path: Path, encoding: str = "auto") -> tuple[pd.DataFrame, str]:
    """Read a CSV as text (UTF-8, else Latin-1, common in spreadsheet exports)."""
    text, used = _decode(path.read_bytes(), path, encoding)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataValidationError(f"{path}: not a readable CSV file ({exc})") from exc
    return frame, used


def read_header(path: Path) -> list[str]:
    """The column names of a CSV (its first line), read without parsing the rest.

    Raises:
        DataNotFoundError: the file is missing.
        DataValidationError: the first line is not a CSV header.
    """
    if not path.is_file():
        raise DataNotFoundError(f"transactions file not found: {path}")
    with path.open("rb") as handle:
        first = handle.readline(1 << 20)
    text = first.decode("utf-8-sig", errors="replace")
    try:
        return [str(c) for c in pd.read_csv(io.StringIO(text), dtype=str, nrows=0).columns]
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataValidationError(f"{path}: not a readable CSV file ({exc})") from exc


def check_mapping_columns(mapping: dict[str, str], columns: list[str], path: Path) -> None:
    """Refuse a mapping that names a column the file lacks (close matches suggested).

    Raises:
        ToolInputError: naming the key, the column and the file's columns.
    """
    for key, column in mapping.items():
        if column not in columns:
            close = difflib.get_close_matches(column, columns, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ToolInputError(
                f"--map {key}={column}: {path} has no column {column!r}{hint}; its columns: "
                f"{', '.join(columns)}"
            )


def read_numbers(frame: pd.DataFrame, column: str, file: str) -> pd.Series:
    """Parse a numeric column (blank -> missing), naming the first unreadable value.

    ``inf``, ``nan`` and magnitudes above ``MAX_NUMBER`` (``1e308``) are refused: a price or
    quantity like that is a mistake, and it would make every total infinite.
    """
    text = frame[column].str.strip()
    values = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce")
    huge = values.abs() > MAX_NUMBER  # inf included
    bad = (values.isna() & (text != "")) | huge
    if bool(bad.any()):
        pos = int(bad.to_numpy().nonzero()[0][0])
        word = f"a finite number of at most {MAX_NUMBER:g}" if bool(huge.iloc[pos]) else "a number"
        count = int(bad.sum())
        raise DataValidationError(
            f"{file} row {pos + 1}, column '{column}': expected {word}, got {text.iloc[pos]!r}"
            + (f" ({count - 1} more rows like it)" if count > 1 else "")
        )
    return values
