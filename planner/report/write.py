"""Rendering a report into its files: report.md, report.html, forecast.csv and forecast.json.

Everything is rendered in memory first (`render_all`); `write_files` then replaces the output folder
in one step (`planner.outdir`), so a failure or an interrupt leaves the folder as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

from planner.errors import UserError
from planner.forecast import serialize
from planner.forecast.model import Forecast
from planner.report import export, view as view_mod

TEMPLATES = Path(__file__).resolve().parents[1] / "data" / "templates"
FILES = ("report.md", "report.html", "forecast.csv", "forecast.json")


def _env(autoescape: bool):
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["mdcell"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    return env


def render_markdown(forecast: Forecast, *, generated_at: str) -> str:
    """report.md: GitHub-flavoured Markdown for wikis and pull requests (charts are in report.html)."""
    return _markdown(view_mod.build(forecast, generated_at=generated_at))


def render_html(forecast: Forecast, *, generated_at: str) -> str:
    """report.html: one self-contained file (inline CSS and SVG, no scripts, no external URLs)."""
    return _html(view_mod.build(forecast, generated_at=generated_at))


def _markdown(v) -> str:
    text = _env(False).get_template("report.md.j2").render(**v.context())
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def _html(v) -> str:
    from planner.report import charts

    text = _env(True).get_template("report.html.j2").render(**v.context(), svgs=charts.all_charts(v.charts))
    return text.rstrip("\n") + "\n"


def render_all(forecast: Forecast, *, generated_at: str) -> dict[str, str]:
    """The four files' contents, by name (the report's view built once for both reports)."""
    v = view_mod.build(forecast, generated_at=generated_at)
    return {
        "report.md": _markdown(v),
        "report.html": _html(v),
        "forecast.csv": export.to_csv(forecast),
        "forecast.json": serialize.to_json(forecast),
    }


def write_files(contents: dict[str, str], out_dir: Path) -> list[Path]:
    """Write `contents` (name -> text) as the whole folder `out_dir`, all or nothing.

    `planner.outdir.write_folder`: a temporary folder beside `out_dir` replaces it in one step; a
    failure or an interrupt leaves `out_dir` as it was. A folder holding other files is refused.
    """
    from planner import outdir

    return outdir.write_folder(out_dir, contents)


def check_out_dir(out_dir: Path) -> None:
    """Bad output folders, said in one line before anything is rendered (`planner.outdir.check_target`):
    a file or device in the way, a missing parent folder, a place that cannot be written, a folder
    holding files this command did not write (it is replaced whole)."""
    from planner import outdir

    outdir.check_target(out_dir, FILES)


def write(forecast: Forecast, out_dir: Path, *, generated_at: str) -> list[Path]:
    """Write report.md, report.html, forecast.csv and forecast.json into `out_dir` (nothing on failure)."""
    check_out_dir(Path(out_dir))
    contents = render_all(forecast, generated_at=generated_at)
    try:
        return write_files(contents, Path(out_dir))
    except OSError as exc:  # e.g. the disk filled up, or the folder changed under us
        raise UserError(f"cannot write the report: {exc.strerror or exc}", file=str(out_dir)) from None
