"""Rendering a report into its files: report.md, report.html, forecast.csv and forecast.json.

Everything is rendered in memory first (`render_all`); `write_files` then puts the files into the
output folder in one step, so a failure leaves the folder as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
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
    v = view_mod.build(forecast, generated_at=generated_at)
    text = _env(False).get_template("report.md.j2").render(**v.context())
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def render_html(forecast: Forecast, *, generated_at: str) -> str:
    """report.html: one self-contained file (inline CSS and SVG, no scripts, no external URLs)."""
    from planner.report import charts

    v = view_mod.build(forecast, generated_at=generated_at)
    text = _env(True).get_template("report.html.j2").render(**v.context(), svgs=charts.all_charts(v.charts))
    return text.rstrip("\n") + "\n"


def render_all(forecast: Forecast, *, generated_at: str) -> dict[str, str]:
    """The four files' contents, by name."""
    return {
        "report.md": render_markdown(forecast, generated_at=generated_at),
        "report.html": render_html(forecast, generated_at=generated_at),
        "forecast.csv": export.to_csv(forecast),
        "forecast.json": serialize.to_json(forecast),
    }


def write_files(contents: dict[str, str], out_dir: Path) -> list[Path]:
    """Write `contents` (name -> text) into `out_dir`, all or nothing.

    The files go into a temporary folder beside `out_dir` first and are moved into place only when
    every one is written (replacing earlier ones; other files in `out_dir` stay).
    """
    out_dir = Path(out_dir)
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    try:
        for name, text in contents.items():
            with open(tmp / name, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in contents:
            os.replace(tmp / name, out_dir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out_dir / name for name in contents]


def check_out_dir(out_dir: Path) -> None:
    """Bad output folders, said in one line before anything is rendered: a file in the way, a missing
    parent folder, a folder that cannot be written."""
    out_dir = Path(out_dir)
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError("is a file, not a folder: choose another --out", file=str(out_dir))
    if not parent.is_dir():
        raise UserError(f"the folder it goes in ({parent}) does not exist: create it first or choose another --out",
                        file=str(out_dir))
    target = out_dir if out_dir.exists() else parent
    if not os.access(target, os.W_OK | os.X_OK):
        raise UserError(f"cannot write into {target}: permission denied", file=str(out_dir))


def write(forecast: Forecast, out_dir: Path, *, generated_at: str) -> list[Path]:
    """Write report.md, report.html, forecast.csv and forecast.json into `out_dir` (nothing on failure)."""
    check_out_dir(Path(out_dir))
    contents = render_all(forecast, generated_at=generated_at)
    try:
        return write_files(contents, Path(out_dir))
    except OSError as exc:  # e.g. the disk filled up, or the folder changed under us
        raise UserError(f"cannot write the report: {exc.strerror or exc}", file=str(out_dir)) from None
