"""Every example's report.html in a real browser (Debian's Chromium, driven by Playwright for Python).

At 1400 px (a desktop) and 390 px (a phone), and in print (A4 landscape), each example's report and the
committed-chat fixture's: no page-level horizontal scroll, no table cell hidden or clipped, every chart
rendered with a non-zero size (one rendering per chart visible), chart text at least 11 px on the phone, no
console errors. One full-page screenshot per report and width lands in the test's temporary folder
(`pytest --basetemp=DIR` keeps them where you want them).

The browser is the system one (`apt-get install -y chromium`; .ci/run installs it the same way): no
browser is downloaded from anywhere else. Off CI, a machine without it skips these tests; on CI
(CI=true) a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = (1400, 390)
PRINT_WIDTH = 1032  # A4 landscape (297 mm) less 2 × 12 mm margins, at 96 px per inch
MIN_PHONE_FONT_PX = 11.0


def _missing() -> str | None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed: pip install -e '.[test]'"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install -y chromium"
    return None


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh user-data-dir every run
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=str(CHROMIUM), args=ARGS,
                                                       headless=True)
        try:
            yield context
        finally:
            context.close()


# what the page looks like, measured in the browser
MEASURE = """() => {
  const doc = document.documentElement;
  const vw = doc.clientWidth;
  const out = {viewport: vw, pageWidth: doc.scrollWidth, hidden: [], charts: [], smallText: [], tables: 0};
  const describe = (el) => {
    const table = el.closest('table');
    const cap = table && table.caption ? table.caption.textContent : '?';
    return `${cap}: ${el.tagName} "${(el.getAttribute('data-label') || '')}" = "${el.textContent.slice(0, 40)}"`;
  };
  for (const table of document.querySelectorAll('table.data')) {
    out.tables += 1;
    const wrap = table.closest('.table-wrap').getBoundingClientRect();
    const thead = table.tHead.getBoundingClientRect();
    const cells = [...table.querySelectorAll('td')];
    if (thead.height > 1) cells.push(...table.querySelectorAll('th'));
    for (const cell of cells) {
      const r = cell.getBoundingClientRect();
      const style = getComputedStyle(cell);
      if (r.width < 1 || r.height < 1 || style.visibility === 'hidden' || style.display === 'none'
          || r.right > wrap.right + 1 || r.left < wrap.left - 1 || r.right > vw + 1
          || cell.scrollWidth > cell.clientWidth + 1) {
        out.hidden.push(describe(cell));
      }
    }
  }
  for (const fig of document.querySelectorAll('figure.chart')) {
    const shown = [...fig.querySelectorAll('svg')].filter(s => s.getBoundingClientRect().width > 0);
    const sizes = shown.map(s => { const r = s.getBoundingClientRect(); return [r.width, r.height, r.right]; });
    out.charts.push({id: fig.id, sizes});
    for (const svg of shown) {
      const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      for (const t of svg.querySelectorAll('text')) {
        const px = parseFloat(getComputedStyle(t).fontSize) * scale;
        if (t.textContent.trim() && px < %(min_font)s) out.smallText.push(`${fig.id}: "${t.textContent}" ${px.toFixed(1)} px`);
      }
    }
  }
  return out;
}""" % {"min_font": MIN_PHONE_FONT_PX}


def _check(report: dict, width: int, where: str) -> None:
    assert report["tables"] >= 8, where
    assert report["pageWidth"] <= report["viewport"], f"{where}: the page scrolls sideways ({report['pageWidth']} px)"
    assert report["hidden"] == [], f"{where}: hidden or clipped table cells: {report['hidden'][:5]}"
    assert len(report["charts"]) >= 4, where
    for chart in report["charts"]:
        assert len(chart["sizes"]) == 1, f"{where}: {chart['id']} shows {len(chart['sizes'])} renderings"
        w, h, right = chart["sizes"][0]
        assert w > 50 and h > 50 and right <= report["viewport"] + 1, f"{where}: {chart['id']} is {w}×{h}"
    if width < 700:
        assert report["smallText"] == [], f"{where}: chart text below {MIN_PHONE_FONT_PX} px: {report['smallText'][:5]}"


def _reports(example_outputs, tmp_path) -> dict[str, Path]:
    """Every example's report.html, the committed-chat fixture's (tests/fixtures/forecast_committed.json): the
    one report whose reservation runs past its horizon, so its commitments and "if demand continues" tables are
    measured too, and the bands-chat fixture's (tests/fixtures/forecast_bands.json): the one with Monte Carlo
    bands, so its fan chart, probability curve and bands tables are measured too."""
    from planner import report
    from planner.forecast import serialize

    reports = {name: out_dir / "report.html" for name, out_dir in example_outputs.items()}
    for name, fixture in (("committed-chat", "forecast_committed.json"), ("bands-chat", "forecast_bands.json")):
        path = tmp_path / f"{name}.html"
        forecast = serialize.load(Path(__file__).parent / "fixtures" / fixture)
        path.write_text(report.render_html(forecast, generated_at="2027-01-15 09:00 UTC"), encoding="utf-8")
        reports[name] = path
    return reports


def test_report_browser_every_example_holds_up_at_desktop_phone_and_print(browser_context, example_outputs,
                                                                           tmp_path):
    reports = _reports(example_outputs, tmp_path)
    for name, path in reports.items():
        url = path.resolve().as_uri()
        for width in WIDTHS:
            page = browser_context.new_page()
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(url, wait_until="load")
            measured = page.evaluate(MEASURE)
            _check(measured, width, f"{name} at {width} px")
            if name == "bands-chat":  # the Monte Carlo section: both its charts drawn, at every width
                drawn = {chart["id"] for chart in measured["charts"] if chart["sizes"]}
                assert {"chart-fan", "chart-probability"} <= drawn, f"{name} at {width} px: {drawn}"
            page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
            assert errors == [], f"{name} at {width} px: console errors {errors}"
            page.close()
        # print: A4 landscape's printable width, print stylesheet
        page = browser_context.new_page()
        page.emulate_media(media="print")
        page.set_viewport_size({"width": PRINT_WIDTH, "height": 700})
        page.goto(url, wait_until="load")
        _check(page.evaluate(MEASURE), PRINT_WIDTH, f"{name} in print")
        page.close()
    shots = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(shots) == len(reports) * len(WIDTHS), shots


def test_report_browser_check_catches_overflow_hidden_cells_and_small_chart_text(browser_context):
    """The measurements above can fail: a table wider than its box, a chart shrunk on a phone."""
    wide = "".join(f"<th>column number {i} with a long header</th>" for i in range(30))
    cells = "".join(f"<td>value-{i}-without-any-break</td>" for i in range(30))
    svg = ('<svg width="800pt" height="300pt" viewBox="0 0 800 300"><text x="10" y="20" '
           'style="font: 10px sans-serif">tick</text></svg>')
    tables = "".join(f'<div class="table-wrap" style="overflow:hidden"><table class="data"><caption>t{k}</caption>'
                     f"<thead><tr>{wide}</tr></thead><tbody><tr>{cells}</tr></tbody></table></div>"
                     for k in range(8))
    charts = "".join(f'<figure class="chart" id="chart-{k}"><div>{svg}</div></figure>' for k in range(4))
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 900})
    page.set_content(f"<!DOCTYPE html><html><body><style>svg{{max-width:100%;height:auto}}</style>"
                     f"{tables}{charts}<div style='width:600px'>x</div></body></html>")
    report = page.evaluate(MEASURE)
    page.close()
    assert report["pageWidth"] > report["viewport"]
    assert report["hidden"]
    assert report["smallText"]
    with pytest.raises(AssertionError):
        _check(report, 390, "broken page")
