"""Files for spreadsheets: cells a spreadsheet cannot run as formulas, and CSV written in parts.

`safe_cell` is the one place that decides how a value becomes a cell; every CSV the bot writes (and any
XLSX later) goes through it. A text cell that starts with = + - @, a tab or a carriage return gets a
leading apostrophe (the OWASP recommendation for CSV injection), so Excel, LibreOffice and Google Sheets
show it as text instead of evaluating `=HYPERLINK(...)` or `@SUM(A1)`. Numbers stay numbers: a value
that is an int or a float cannot hold a formula.

`CsvParts` writes rows into files of at most `limit` bytes each, every part with the UTF-8 BOM (so that
Excel reads the Chinese text right) and the header, so each part opens on its own.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Telegram takes files of up to 50 MB from bots; 45,000,000 bytes stays under it whichever MB is meant.
PART_LIMIT = 45_000_000
BOM = "\ufeff".encode()


def safe_cell(value: object) -> str:
    """The text of one cell: None as empty, numbers as they are, text that could start a formula quoted."""
    if type(value) is str:
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def safe_row(values: Iterable[object]) -> list[str]:
    """`safe_cell` of every value; text cells checked inline, since an export makes millions of them."""
    return [
        ("'" + v if v.startswith(FORMULA_STARTS) else v)
        if type(v) is str
        else (str(v) if type(v) is int else safe_cell(v))
        for v in values
    ]


@dataclass(frozen=True)
class Part:
    """One file written by `CsvParts`: where it is, how many rows it holds after the header, its size."""

    path: Path
    rows: int
    size: int


class _Line:
    """What csv.writer writes to: it keeps the last record, so each row can be measured in bytes."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text = text


class CsvParts:
    """Rows written to `stem-1.csv`, `stem-2.csv`, … under `limit` bytes each (`stem.csv` if one is enough).

    A part always takes at least one row, so a single row longer than the limit still gets written (the
    bot's rows are a few hundred bytes). Use as a context manager (an exception inside removes every
    part), or call `close()`; `parts` then lists the files in order.
    """

    def __init__(self, directory: Path, stem: str, header: Sequence[str], limit: int = PART_LIMIT):
        self.directory = Path(directory)
        self.stem = stem
        self.limit = limit
        self.parts: list[Part] = []
        self._line = _Line()
        self._writer = csv.writer(self._line)
        self._header = BOM + self._encode(header)
        if len(self._header) >= limit:
            raise ValueError(f"a part limit of {limit} bytes leaves no room for rows")
        self._file = None
        self._rows = 0
        self._size = 0
        self._closed = False

    def _encode(self, row: Iterable[object]) -> bytes:
        self._writer.writerow(safe_row(row))
        return self._line.text.encode()

    def write(self, row: Iterable[object]) -> None:
        """Append one row (its cells through `safe_cell`), starting a new part when it would not fit."""
        data = self._encode(row)
        if self._file is None or (self._rows and self._size + len(data) > self.limit):
            self._next_part()
        self._file.write(data)
        self._rows += 1
        self._size += len(data)

    def _next_part(self) -> None:
        self._finish_part()
        path = self.directory / f"{self.stem}-{len(self.parts) + 1}.csv"
        self._file = open(path, "wb")  # noqa: SIM115 - closed in _finish_part
        self._file.write(self._header)
        self._size = len(self._header)
        self._rows = 0

    def _finish_part(self) -> None:
        if self._file is None:
            return
        self._file.close()
        self.parts.append(Part(Path(self._file.name), self._rows, self._size))
        self._file = None

    def close(self) -> list[Part]:
        """Finish the last part (a header-only one if no row came) and return every part in order."""
        if self._closed:
            return self.parts
        self._closed = True
        if self._file is None and not self.parts:
            self._next_part()
        self._finish_part()
        if len(self.parts) == 1:
            only = self.parts[0]
            path = only.path.rename(self.directory / f"{self.stem}.csv")
            self.parts = [Part(path, only.rows, only.size)]
        return self.parts

    def __enter__(self) -> CsvParts:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
            return
        # Half an export is no export: nothing is left behind (the console writes into its directory).
        if self._file is not None:
            self._file.close()
            Path(self._file.name).unlink(missing_ok=True)
        for part in self.parts:
            part.path.unlink(missing_ok=True)
