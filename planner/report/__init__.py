"""Reports of a forecast: Markdown, self-contained HTML with charts, tidy CSV, and forecast.json.

- `format`: numbers and money as text;
- `view`: the view model both templates and the charts read, built from a typed `Forecast` (the one
  place that writes English: the answer, reasons, triggers, warnings, risks);
- `export`: forecast.csv (forecast.json is `planner.forecast.serialize.to_json`);
- `charts`: matplotlib SVG from the view model;
- `write`: rendering into the output folder.

Every renderer reads only the `Forecast`, so a report can be re-rendered from a saved forecast.json
(`planner.forecast.serialize.load`). The generation time appears only in the reports; forecast.json
and forecast.csv are byte-identical for the same plan and price snapshot.
"""

from __future__ import annotations

from planner.report.export import to_csv
from planner.report.view import answer_lines, warning_lines
from planner.report.write import FILES, check_out_dir, render_html, render_markdown, write


__all__ = ["FILES", "answer_lines", "check_out_dir", "render_html", "render_markdown", "to_csv", "warning_lines", "write"]
