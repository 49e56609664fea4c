"""Question banks (题库) in the layout organizations keep them: one question a row of an XLSX or CSV sheet.

Columns 题型, 题干, 选项A-D, 答案, 解析/出处, 部分. `bank_rows` turns the bot's own questions into rows, so an
editor starts from them; `to_xlsx` / `to_csv` write a bank; `read_bank` reads one back and checks every
row against what a Telegram quiz poll takes and against the speech's parts (`section_names` of the model's
sections). An import is all or nothing: with any error `questions` is empty, so the caller shows the errors
and stores nothing. `diff_banks` counts what an import would change, for its preview.

Three modules, bottom up: `rows` (the row, its id, the results), `checks` (headers and every row's rules),
`files` (XLSX and CSV, written and read). No database and no platform: the caller stores and sends.
"""

from bot.core.bank.checks import MAX_ROWS
from bot.core.bank.rows import (
    HEADER,
    JUDGE,
    SINGLE,
    BankDiff,
    BankError,
    BankImport,
    BankRow,
    Sections,
    bank_rows,
    diff_banks,
    section_names,
)

# The files' functions load openpyxl (about 10 MB and 80 ms): only when a bank is read or written, not
# when the bot starts (PEP 562).
_FILES = ("MAX_BYTES", "read_bank", "to_csv", "to_xlsx")


def __getattr__(name: str):
    if name in _FILES:
        from bot.core.bank import files

        return getattr(files, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HEADER",
    "JUDGE",
    "MAX_BYTES",
    "MAX_ROWS",
    "SINGLE",
    "BankDiff",
    "BankError",
    "BankImport",
    "BankRow",
    "Sections",
    "bank_rows",
    "diff_banks",
    "read_bank",
    "section_names",
    "to_csv",
    "to_xlsx",
]
