"""How commands print rows: a table on a terminal, aligned plain text when piped, CSV or JSON.

Cells are never cut: on a terminal, rich wraps a long cell inside its column instead of ending it
with "…"; piped or redirected, the table is plain text with space-aligned columns at its full
width, whatever the terminal's size. `--format csv` and `--format json` print the raw values.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import sys
from dataclasses import dataclass
from typing import Any

import typer


class Format(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"


def format_option(default: Format = Format.table):
    return typer.Option(default, "--format", case_sensitive=False,
                        help="table (aligned plain text when piped), csv or json")


@dataclass(frozen=True)
class Column:
    key: str  # the key in each row (csv and json use it)
    title: str  # the table header
    numeric: bool = False  # right-aligned
    text: Any = None  # row -> the cell's text (default: str of the value, "-" for None)

    def cell(self, row: dict) -> str:
        if self.text is not None:
            return self.text(row)
        value = row.get(self.key)
        return "-" if value is None else str(value)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return value


def plain_table(columns: list[Column], rows: list[dict], title: str | None = None) -> str:
    """Space-aligned text, every cell in full (the piped form of a table)."""
    cells = [[c.title for c in columns]] + [[c.cell(r) for c in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    out = [title] if title else []
    for k, line in enumerate(cells):
        parts = [text.rjust(w) if c.numeric else text.ljust(w) for text, w, c in zip(line, widths, columns)]
        out.append("  ".join(parts).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out) + "\n"


def emit(columns: list[Column], rows: list[dict], fmt: Format | str = Format.table, *, title: str | None = None,
         json_rows: list[dict] | None = None, tty: bool | None = None) -> None:
    """Print `rows` in `fmt`; `json_rows` (default: `rows`) is what --format json prints."""
    fmt = Format(fmt)
    if fmt is Format.json:
        print(json.dumps(json_rows if json_rows is not None else rows, indent=2, default=str))
        return
    if fmt is Format.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        for r in rows:
            writer.writerow([_csv_value(r.get(c.key)) for c in columns])
        sys.stdout.write(buf.getvalue())
        return
    if tty is None:
        tty = sys.stdout.isatty()
    if not tty:
        sys.stdout.write(plain_table(columns, rows, title))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c.title, justify="right" if c.numeric else "left", overflow="fold")
    for r in rows:
        table.add_row(*(c.cell(r) for c in columns))
    Console().print(table)
