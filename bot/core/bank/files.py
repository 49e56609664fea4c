"""A bank as a file: XLSX and CSV written for editors, and read back from whatever they send.

Every cell written goes through `safe_cell` (sheets.py), and an XLSX cell is typed as a string besides, so
no cell is ever a formula; the apostrophe safe_cell sets before a formula-like text is taken off again on
import, so a bank comes back from the round trip as it went out. Reading refuses, with one message, what
is not a bank: a file over 5 MB, an .xls, a zip that inflates past 100 MB, a damaged file.
"""

from __future__ import annotations

import csv
import io
import logging
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from bot.core.bank.checks import MAX_ROWS, Refused, cell_text, check_rows, columns_of
from bot.core.bank.rows import HEADER, JUDGE, SINGLE, BankError, BankImport, BankRow, Parts, Sections
from bot.core.sheets import BOM, safe_cell, safe_row
from content.textfile import ENCODINGS, NotTextError, decode_text

logger = logging.getLogger(__name__)

WIDTHS = (8, 50, 18, 18, 18, 18, 6, 45, 10)
MAX_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED = 100 * 1024 * 1024  # an XLSX is zipped XML: this bounds what opening one may inflate to
MAX_COLUMNS = 40
BLANK_RUN = 1000  # this many blank rows in a row end the sheet (a stray cell at row 1,048,576 is no bank)
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected Office file
XLSX_BROKEN = "文件不是有效的 .xlsx（可能已损坏）：请在 Excel 或 WPS 里重新保存为 .xlsx 或 .csv"


def to_xlsx(rows: Iterable[BankRow]) -> bytes:
    """The bank as an XLSX: bold frozen header, readable widths, every cell a string through safe_cell."""
    book = Workbook()
    sheet = book.active
    sheet.title = "题库"
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, values in enumerate([HEADER, *(row.cells() for row in rows)], start=1):
        for c, value in enumerate(values, start=1):
            text = ILLEGAL_CHARACTERS_RE.sub("", safe_cell(value))
            if text:
                cell = sheet.cell(r, c, text)
                cell.data_type = "s"  # typed as text: never a formula, whatever it says
                cell.alignment = wrap
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for c, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.freeze_panes = "A2"
    kinds = DataValidation(type="list", formula1=f'"{SINGLE},{JUDGE}"', allow_blank=True)
    kinds.add(f"A2:A{MAX_ROWS + 1}")
    sheet.add_data_validation(kinds)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(rows: Iterable[BankRow]) -> bytes:
    """The bank as a CSV: UTF-8 with BOM (Excel then reads the Chinese right), cells through safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(safe_row(HEADER))
    writer.writerows(safe_row(row.cells()) for row in rows)
    return BOM + out.getvalue().encode()


# -- import ----------------------------------------------------------------------------------------------


def read_bank(data: bytes, filename: str, sections: Sections) -> BankImport:
    """The bank in an .xlsx or .csv (.tsv) file, every row checked. Never raises on what the file holds:
    a file that cannot be read at all gives one error without a row number."""
    try:
        return check_rows(_records(data, filename), Parts(sections))
    except Refused as exc:
        return BankImport(errors=(BankError(None, str(exc)),))


def _records(data: bytes, filename: str) -> list[tuple[int, Sequence[object]]]:
    """(row number, cells) of the sheet, or Refused for a file that is none we read."""
    suffix = PurePath(filename or "").suffix.lower()
    if not data:
        raise Refused("文件是空的")
    if len(data) > MAX_BYTES:
        raise Refused(f"文件超过 {MAX_BYTES // 1024 // 1024} MB：请把题库分成几个文件")
    if suffix == ".xls" or data.startswith(OLE):
        raise Refused("不支持旧版 Excel（.xls）或加了密码的文件：请另存为不加密码的 .xlsx 或 .csv")
    if suffix not in (".xlsx", ".csv", ".tsv"):
        raise Refused("只接受 .xlsx 或 .csv 格式的题库")
    if data.startswith(b"PK\x03\x04"):
        return _xlsx_records(data)
    if suffix == ".xlsx":
        raise Refused(XLSX_BROKEN)
    return _csv_records(data)


def _xlsx_records(data: bytes) -> list[tuple[int, Sequence[object]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise Refused(XLSX_BROKEN) from None
    if inflated > MAX_UNZIPPED:
        raise Refused("文件解压后过大，不像题库：请只保留题目另存后再导入")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns of styles and extensions it skips
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheets = book.worksheets
                for sheet in sheets:
                    sheet.reset_dimensions()  # some writers record a wrong size; read what is there
                # The first sheet with a header in its first rows, else the first (its rows then say why not).
                chosen = next(
                    (s for s in sheets if any(map(columns_of, _rows(s, 10)))), sheets[0] if sheets else None
                )
                return _collect(enumerate(_rows(chosen), start=1)) if chosen else []
            finally:
                book.close()
    except Exception:  # a damaged part shows while openpyxl reads it: any error is "not a valid xlsx"
        logger.info("unreadable xlsx", exc_info=True)
        raise Refused(XLSX_BROKEN) from None


def _csv_records(data: bytes) -> list[tuple[int, Sequence[object]]]:
    try:
        text = decode_text(data)
    except NotTextError:
        raise Refused(f"文件不是 {ENCODINGS} 编码的 CSV 文本") from None
    first = next((line for line in text.split("\n") if line.strip()), "")
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    try:
        return _collect(enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1))
    except csv.Error as exc:
        logger.info("unreadable csv: %s", exc)
        raise Refused("CSV 格式有误，无法读取：请在 Excel 或 WPS 里重新另存为 CSV") from None


def _rows(sheet, limit: int | None = None) -> Iterable[tuple]:
    return sheet.iter_rows(max_row=limit, max_col=MAX_COLUMNS, values_only=True)


def _collect(records: Iterable[tuple[int, Sequence[object]]]) -> list[tuple[int, Sequence[object]]]:
    """The non-blank rows, enough of them to tell a bank over MAX_ROWS, up to a long run of blank rows."""
    out, blank = [], 0
    for n, cells in records:
        if all(cell_text(c) == "" for c in cells):
            blank += 1
            if blank >= BLANK_RUN:
                break
            continue
        blank = 0
        out.append((n, cells))
        if len(out) > MAX_ROWS + 10:
            break
    return out
