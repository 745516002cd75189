"""report.py: Markdown (golden), self-contained HTML, the three-line answer, CSV and JSON, write()."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from planner import report

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "forecast_small.json"
GOLDEN = Path(__file__).parent / "golden" / "report_small.md"
GENERATED_AT = "2027-01-15 09:00 UTC"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def small() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def api_only(f: dict) -> dict:
    """The fixture as an early planner produces it: demand and the API bill only."""
    f = copy.deepcopy(f)
    for key in ("break_even", "recommendation", "scenarios", "sensitivity"):
        f.pop(key)
    for m in f["months"]:
        for key in ("self_hosted_usd", "api_path_usd", "unused_committed_usd"):
            m.pop(key)
        for w in m["workloads"]:
            for key in ("fleet", "replicas", "capacity_requests_per_s", "self_hosted_compute_usd"):
                w.pop(key)
    for t in f["totals"].values():
        t.pop("api_path_usd")
        t.pop("self_hosted_usd")
    return f


# --- external references in HTML ---------------------------------------------------------------

FETCH_ATTRS = {"src", "href", "xlink:href", "srcset", "action", "poster", "data", "background",
               "formaction", "manifest", "ping", "codebase", "cite", "longdesc"}


class _Scan(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.problems: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("script", "link", "iframe", "object", "embed", "img", "base", "frame", "audio", "video"):
            self.problems.append(f"<{tag}> element")
        if tag == "meta" and any(k == "http-equiv" and (v or "").lower() == "refresh" for k, v in attrs):
            self.problems.append("meta refresh")
        for name, value in attrs:
            value = value or ""
            if name in FETCH_ATTRS and value and not value.startswith("#"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if re.search(r"(https?:)?//", value):
                self.problems.append(f"URL in <{tag} {name}={value[:60]!r}>")
            if name == "style":
                self.styles.append(value)
            if name.startswith("on"):
                self.problems.append(f"event handler <{tag} {name}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def external_references(html: str) -> list[str]:
    """What in `html` would make a browser fetch something (or run code); [] for a self-contained page."""
    scan = _Scan()
    scan.feed(html)
    scan.close()
    problems = list(scan.problems)
    for css in scan.styles:
        if "@import" in css:
            problems.append("@import in CSS")
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]*)", css):
            if not ref.startswith("#"):
                problems.append(f"url({ref}) in CSS")
    return problems


def test_external_references_catches_fetches():
    bad = ('<html><head><link rel="stylesheet" href="https://x.test/a.css"><style>@import "b.css";'
           'body{background:url(http://x.test/i.png)}</style></head><body><img src="a.png">'
           '<svg><image href="//x.test/y.png"/></svg><script src="s.js"></script></body></html>')
    found = external_references(bad)
    assert len(found) >= 6, found
    assert external_references('<html><body><a href="#fleet">x</a><p>see https://aws.amazon.com</p></body></html>') == []


# --- Markdown: golden file and the three-line answer -------------------------------------------

def test_report_markdown_matches_golden():
    """report.md of tests/fixtures/forecast_small.json, checked by hand once (2027-01 .. 2027-03).

    API (gpt-4o at $2.50 / $10 per million tokens, 1,000 in / 250 out per request):
      2,000,000 req: 2e9 × 2.5e-6 + 5e8 × 10e-6 = 5,000 + 5,000 = $10,000; 2.4M req -> $12,000;
      2.88M req -> $14,400; 3-month token total $36,400; API path adds $500/month data/eval:
      $10,500 + $12,500 + $14,900 = $37,900.
    Self-hosted: compute 1 × $5.00/h × 730 h = $3,650 (+ 1 spot × $2.00 × 730 = $1,460 in 2027-03),
      platform $200, people 0.25 × $20,000 = $5,000, data/eval $100, compliance $50, retraining $0;
      subtotal $9,000 -> buffer 30 % = $2,700 -> $11,700 (Jan, Feb); Mar: $10,460 + $3,138 = $13,598;
      3-month total $11,700 × 2 + $13,598 = $36,998. Savings over the horizon $37,900 − $36,998 = $902.
    Cumulative: self-hosted 11,700 / 23,400 / 36,998 against API path 10,500 / 23,000 / 37,900:
      the API path overtakes in 2027-03 (2,880,000 requests), the break-even month in the fixture.
    Peak req/s = requests / (730 × 3600) × 3: 2,000,000 / 2,628,000 × 3 = 2.28.
    Regenerate with UPDATE_GOLDEN=1 only after checking the diff by hand.
    """
    text = report.render_markdown(small(), generated_at=GENERATED_AT)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
    for expected in ("$10,000", "$12,000", "$14,400", "$36,400", "$37,900", "$3,650", "$1,460", "$2,700",
                     "$3,138", "$11,700", "$13,598", "$36,998", "$902", "2027-03", "2.28"):
        assert expected in text, expected


def _answer_lines(md: str) -> dict[str, str]:
    section = md.split("## The answer", 1)[1].split("\n## ", 1)[0]
    lines = [l for l in section.splitlines() if l.startswith("- **")]
    assert len(lines) == 3, lines
    out = {}
    for line in lines:
        m = re.match(r"- \*\*(\w[\w -]*):\*\* (.*)$", line)
        out[m.group(1)] = m.group(2)
    return out


def _dollars(text: str) -> int:
    return int(text.replace("$", "").replace(",", ""))


def _whole(x: float) -> int:
    return int(Decimal(repr(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _whole_of_cents(text_dollars: int, x: float) -> bool:
    """forecast.json holds cents; the report rounds the unrounded figure once. A JSON figure at exactly
    .50 may come from .495-.5049 before rounding: either whole dollar is then the right one."""
    if Decimal(repr(x)) % 1 == Decimal("0.5"):
        return text_dollars in (_whole(x) - 1, _whole(x))
    return text_dollars == _whole(x)


def check_answer_against_json(md: str, forecast_json: dict) -> int:
    """Every number in the three-line answer equals the matching figure in forecast.json; returns how many."""
    lines = _answer_lines(md)
    checked = 0
    totals = forecast_json["totals"]
    text = lines["Totals"]
    periods = text.split(" · ")
    keys = ["first_12_months", "horizon"]
    assert len(periods) == 2, text
    for key, part in zip(keys, periods):
        t = totals[key]
        sh = re.search(r"self-hosted (\$[\d,]+)", part)
        if "self_hosted_usd" in t:
            assert _whole_of_cents(_dollars(sh.group(1)), t["self_hosted_usd"]), (key, part)
            checked += 1
        else:
            assert sh is None and "self-hosted not computed" in part
        for model, path_usd, tok_usd in re.findall(r"API path (\S+) (\$[\d,]+) \(tokens (\$[\d,]+)\)", part):
            assert _whole_of_cents(_dollars(path_usd), t["api_path_usd"][model])
            assert _dollars(tok_usd) == _whole(t["api_usd"][model])
            checked += 2
        for model, tok_usd in re.findall(r"API tokens (\S+) (\$[\d,]+)", part):
            assert _dollars(tok_usd) == _whole(t["api_usd"][model])
            checked += 1
        models = set(t["api_usd"])
        assert models == set(re.findall(r"API (?:path|tokens) (\S+) \$", part)), part
        # every dollar figure in the line was matched above
        assert len(re.findall(r"\$[\d,]+", part)) == checked - sum(
            len(re.findall(r"\$[\d,]+", p)) for p in periods[:keys.index(key)]), part
    be = lines["Break-even"]
    if "break_even" in forecast_json:
        for model, entry in forecast_json["break_even"].items():
            if entry["month"]:
                m = re.search(rf"vs {re.escape(model)} in (\d{{4}}-\d{{2}})(?: \(at ([\d,]+) requests/month\))?", be)
                assert m and m.group(1) == entry["month"], be
                if entry.get("monthly_requests") is not None:
                    assert int(m.group(2).replace(",", "")) == _whole(entry["monthly_requests"])
                    checked += 1
            else:
                assert f"vs {model}: none within" in be
    else:
        assert "not computed" in be and "$" not in be and not re.search(r"\d", be)
    rec = lines["Recommendation"]
    if "recommendation" in forecast_json:
        assert rec.startswith(report.DECISION_LABELS[forecast_json["recommendation"]["decision"]])
    else:
        assert rec.startswith("not computed")
    return checked


@pytest.mark.parametrize("variant", ["full", "api_only"])
def test_report_answer_numbers_equal_forecast_json_totals(variant):
    f = small() if variant == "full" else api_only(small())
    md = report.render_markdown(f, generated_at=GENERATED_AT)
    written = json.loads(report.to_json(f))
    checked = check_answer_against_json(md, written)
    assert checked == (7 if variant == "full" else 2)
    # the terminal lines say the same
    assert [l.split(": ", 1)[1] for l in report.answer_lines(f)] == list(_answer_lines(md).values())


def test_report_missing_sections_are_stated_not_zeroed():
    f = api_only(small())
    md = report.render_markdown(f, generated_at=GENERATED_AT)
    html = report.render_html(f, generated_at=GENERATED_AT)
    assert "self-hosted side not computed" in md and "self-hosted side not computed" in html
    assert "Not computed in this forecast: fleet, self-hosted cost of ownership, break-even, recommendation, " \
           "scenarios, sensitivity." in md
    answer = "\n".join(_answer_lines(md).values())
    assert "$0" not in answer
    assert "$0" not in md  # nothing in the fixture's API side is zero, so no zero may appear at all
    assert external_references(html) == []
    # even a forecast with nothing but its months renders
    bare = {"plan": {"name": "bare"}, "hours_per_month": 730, "price_sources": [], "months": [], "totals": {}}
    assert "not computed" in report.render_markdown(bare, generated_at="t")
    assert "<html" in report.render_html(bare, generated_at="t")


def test_report_same_content_in_markdown_and_html():
    f = small()
    md = report.render_markdown(f, generated_at=GENERATED_AT)
    html = report.render_html(f, generated_at=GENERATED_AT)
    import html as htmllib

    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", html))
    for a in report.answer(f):
        assert a["text"] in text
    for figure in set(re.findall(r"-?\$[\d,]+(?:\.\d\d)?", md)):
        assert figure in text, figure


# --- HTML --------------------------------------------------------------------------------------

def test_report_html_is_self_contained_and_prints():
    html = report.render_html(small(), generated_at=GENERATED_AT)
    assert external_references(html) == []
    assert html.startswith("<!DOCTYPE html>")
    assert "@media print" in html
    assert html.count("<svg") == 5  # cost, cumulative, fleet, demand, tornado
    assert html.index('id="answer"') < html.index("<svg")  # the answer comes first
    assert GENERATED_AT in html
    # ids are unique across the inline charts
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1][:5]


def test_report_html_is_deterministic():
    a = report.render_html(small(), generated_at=GENERATED_AT)
    b = report.render_html(small(), generated_at=GENERATED_AT)
    assert a == b


# --- JSON and CSV ------------------------------------------------------------------------------

def test_report_to_json_rounds_money_only_and_half_up():
    np = pytest.importorskip("numpy")
    f = {"plan": {"name": "x"}, "months": [{"api_usd": {"a/b": 1234.565}, "self_hosted_usd": {"total": 0.125},
                                              "fleet": [{"usd_per_hour": 1.23456, "usd": np.float64(10.005),
                                                         "count": np.int64(3), "hours": 730}],
                                              "peak_requests_per_s": 2.283105022831050}],
         "totals": {"horizon": {"self_hosted_usd": -0.0001}}}
    out = json.loads(report.to_json(f))
    m = out["months"][0]
    assert m["api_usd"]["a/b"] == 1234.57
    assert m["self_hosted_usd"]["total"] == 0.13
    assert m["fleet"][0]["usd"] == 10.01 and m["fleet"][0]["count"] == 3
    assert m["fleet"][0]["usd_per_hour"] == 1.23456  # a rate, not money spent
    assert m["peak_requests_per_s"] == 2.28310502283105
    assert out["totals"]["horizon"]["self_hosted_usd"] == 0.0
    assert report.to_json(f) == report.to_json(copy.deepcopy(f))
    assert report.to_json(f).endswith("}\n")
    with pytest.raises(ValueError, match="months"):
        report.to_json({"months": [{"api_usd": {"a/b": float("nan")}}]})


def test_report_to_json_keeps_key_order():
    f = small()
    assert list(json.loads(report.to_json(f))) == list(f)


def test_report_to_csv_is_tidy_and_sums_to_the_totals():
    f = small()
    text = report.to_csv(f)
    assert text == report.to_csv(small())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["month", "workload", "category", "item", "quantity", "unit", "usd"]
    keys = [(r["month"], r["workload"], r["category"], r["item"]) for r in rows]
    assert len(keys) == len(set(keys))  # one row per month × workload × line item
    assert all(re.fullmatch(r"-?\d+\.\d\d", r["usd"]) for r in rows)
    for m in f["months"]:
        mine = [r for r in rows if r["month"] == m["month"]]
        self_hosted = sum(Decimal(r["usd"]) for r in mine if r["category"] in ("compute", "self_hosted"))
        assert self_hosted == Decimal(repr(m["self_hosted_usd"]["total"])).quantize(Decimal("0.01"))
        api_path = sum(Decimal(r["usd"]) for r in mine if r["category"] in ("api_tokens", "api_path"))
        assert api_path == Decimal(repr(m["api_path_usd"]["openai/gpt-4o"])).quantize(Decimal("0.01"))
        assert {r["workload"] for r in mine} == {"chat", "*"}
    spot = [r for r in rows if r["item"] == "eu-central-1/g6e.12xlarge/spot"]
    assert spot == [{"month": "2027-03", "workload": "chat", "category": "compute",
                     "item": "eu-central-1/g6e.12xlarge/spot", "quantity": "730", "unit": "instance_hours",
                     "usd": "1460.00"}]
    # people, compliance, platform are plan-level
    assert {r["item"] for r in rows if r["workload"] == "*" and r["category"] == "self_hosted"} == {
        "platform", "people", "data_eval", "compliance", "retraining", "buffer"}


def test_report_to_csv_of_api_only_forecast():
    rows = list(csv.DictReader(io.StringIO(report.to_csv(api_only(small())))))
    assert [(r["month"], r["category"], r["usd"]) for r in rows] == [
        ("2027-01", "api_tokens", "10000.00"), ("2027-02", "api_tokens", "12000.00"),
        ("2027-03", "api_tokens", "14400.00")]


# --- write -------------------------------------------------------------------------------------

def test_report_write_puts_four_files_in_place(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    (out / "report.md").write_text("old")
    paths = report.write(small(), out, generated_at=GENERATED_AT)
    assert [p.name for p in paths] == ["report.md", "report.html", "forecast.csv", "forecast.json"]
    assert (out / "keep.txt").read_text() == "mine"
    assert (out / "report.md").read_text(encoding="utf-8") == report.render_markdown(small(), generated_at=GENERATED_AT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left behind
    json.loads((out / "forecast.json").read_text(encoding="utf-8"))


def test_report_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    out = tmp_path / "out"
    report.write(small(), out, generated_at="first")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*_a, **_k):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(report, "to_json", boom)
    with pytest.raises(RuntimeError):
        report.write(small(), out, generated_at="second")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    new = tmp_path / "new"
    with pytest.raises(RuntimeError):
        report.write(small(), new, generated_at="second")
    assert not new.exists()


def test_report_json_and_csv_do_not_depend_on_generation_time(tmp_path):
    a = report.write(small(), tmp_path / "a", generated_at="2027-01-01 00:00 UTC")
    b = report.write(small(), tmp_path / "b", generated_at="2030-12-31 23:59 UTC")
    for pa, pb in zip(a, b):
        if pa.name.startswith("forecast."):
            assert pa.read_bytes() == pb.read_bytes()


def test_report_render_is_fast():
    import time

    report.render_html(small(), generated_at="warm-up")  # matplotlib import
    t0 = time.perf_counter()
    report.render_markdown(small(), generated_at=GENERATED_AT)
    report.render_html(small(), generated_at=GENERATED_AT)
    assert time.perf_counter() - t0 < 5.0


# --- the bundled examples, end to end ----------------------------------------------------------

@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_report_of_each_example_is_self_contained_and_deterministic(example, tmp_path):
    from planner import cli

    for run in ("a", "b"):
        assert cli.run(["forecast", str(example), "--out", str(tmp_path / run)]) == 0
    html = (tmp_path / "a" / "report.html").read_text(encoding="utf-8")
    assert external_references(html) == []
    assert "<svg" in html and "@media print" in html
    for name in ("forecast.json", "forecast.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    md = (tmp_path / "a" / "report.md").read_text(encoding="utf-8")
    check_answer_against_json(md, json.loads((tmp_path / "a" / "forecast.json").read_text(encoding="utf-8")))
