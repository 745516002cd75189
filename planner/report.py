"""Reports of a forecast: Markdown, self-contained HTML with charts, tidy CSV and JSON.

The forecast is the plain dict of docs/forecast-json.md. Every renderer reads only that dict,
so a report can be re-rendered from a saved forecast.json. Sections the planner has not computed
yet (no fleet, no self-hosted cost, no break-even...) are stated as absent, never shown as zero.

Both human renderings (report.md, report.html) are fed by one context built here, so they carry
the same content. Money is unrounded in the forecast and rounded only when shown or written:
whole dollars in tables (cents below $100), cents in forecast.json and forecast.csv.

The generation time appears only in the report headers; forecast.json and forecast.csv are
byte-identical for the same plan and price snapshot.
"""

from __future__ import annotations

import csv
import io
import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).parent / "data" / "templates"
FILES = ("report.md", "report.html", "forecast.csv", "forecast.json")
CATEGORIES = ("compute", "platform", "people", "data_eval", "compliance", "retraining", "buffer")
CATEGORY_LABELS = {"compute": "Compute", "platform": "Platform", "people": "People",
                   "data_eval": "Data & eval", "compliance": "Compliance", "retraining": "Retraining",
                   "buffer": "Buffer", "total": "Total"}
DECISION_LABELS = {"api": "API", "self-host": "self-host", "self_host": "self-host", "hybrid": "hybrid"}
SENSITIVITY_LABELS = {"traffic": "Traffic (requests)", "input_tokens": "Input tokens per request",
                      "output_tokens": "Output tokens per request", "gpu_prices": "GPU instance prices",
                      "uncertainty_buffer": "Uncertainty buffer"}
MISSING = "—"
SELF_HOSTED_ABSENT = "self-hosted side not computed"


# --- number formatting -------------------------------------------------------------------------

def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _round_half_up(x: float, places: int) -> Decimal:
    q = Decimal(1).scaleb(-places)
    r = _dec(x).quantize(q, rounding=ROUND_HALF_UP)
    return r + 0  # drops a negative zero


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def usd(x: Any, *, cents: bool | None = None) -> str:
    """$1,234 (whole dollars), or $12.34 below $100; '—' for a missing number."""
    if not _is_number(x):
        return MISSING
    if cents is None:
        cents = abs(x) < 100 and _round_half_up(x, 2) != _round_half_up(x, 0)
    r = _round_half_up(x, 2 if cents else 0)
    sign = "-" if r < 0 else ""
    return f"{sign}${abs(r):,.2f}" if cents else f"{sign}${abs(r):,.0f}"


def usd_rate(x: Any) -> str:
    """An hourly price: cents, or more digits when the price has them ($0.0123)."""
    if not _is_number(x):
        return MISSING
    text = f"{x:,.4f}".rstrip("0")
    if len(text.split(".")[1]) < 2:
        text = f"{x:,.2f}"
    return f"${text}"


def num(x: Any, digits: int = 0) -> str:
    if not _is_number(x):
        return MISSING
    return f"{_round_half_up(x, digits):,.{digits}f}"


def millions(x: Any) -> str:
    if not _is_number(x):
        return MISSING
    return f"{_round_half_up(x / 1e6, 1):,.1f} M"


def plain_value(x: Any) -> str:
    """An assumption's value as written: numbers without trailing zeros, dicts as k=v."""
    if x is None:
        return MISSING
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.6f}".rstrip("0").rstrip(".") if math.isfinite(x) else MISSING
    if isinstance(x, dict):
        return ", ".join(f"{k}={plain_value(v)}" for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return ", ".join(plain_value(v) for v in x)
    return str(x)


def _multiplier(x: Any) -> str:
    return f"×{plain_value(x)}" if _is_number(x) else MISSING


def _pct(x: Any) -> str:
    return f"{plain_value(x * 100)}%" if _is_number(x) else MISSING


# --- reading the forecast ----------------------------------------------------------------------

def _months(f: dict) -> list[dict]:
    return list(f.get("months") or [])


def _models(f: dict) -> list[str]:
    """The compared API models, in the order they first appear."""
    seen: dict[str, None] = {}
    for m in _months(f):
        for k in (m.get("api_usd") or {}):
            seen.setdefault(k, None)
    for k in ((f.get("totals") or {}).get("horizon") or {}).get("api_usd") or {}:
        seen.setdefault(k, None)
    return list(seen)


def _workload_names(f: dict) -> list[str]:
    seen: dict[str, None] = {}
    for m in _months(f):
        for w in m.get("workloads") or []:
            seen.setdefault(w.get("name", "?"), None)
    return list(seen)


def has_self_hosted(f: dict) -> bool:
    months = _months(f)
    return bool(months) and all(isinstance(m.get("self_hosted_usd"), dict) for m in months)


def has_fleet(f: dict) -> bool:
    return any("fleet" in w for m in _months(f) for w in (m.get("workloads") or []))


def _fleet_rows(f: dict):
    for m in _months(f):
        for w in m.get("workloads") or []:
            for e in w.get("fleet") or []:
                yield m.get("month"), w.get("name"), e


def _horizon_months(f: dict) -> int:
    n = len(_months(f))
    if n:
        return n
    return int((f.get("plan") or {}).get("horizon_months") or 0)


def _period_label(key: str, f: dict) -> str:
    n = _horizon_months(f)
    if key == "first_12_months":
        if n and n < 12:
            return f"first {n} months"
        return "first 12 months"
    return f"horizon of {n} months" if n else "horizon"


def _first_month(f: dict) -> str | None:
    months = _months(f)
    return months[0].get("month") if months else (f.get("plan") or {}).get("start")


# --- the three-line answer ---------------------------------------------------------------------

def _decision(d: Any) -> str:
    return DECISION_LABELS.get(str(d), str(d)) if d else MISSING


def answer(f: dict) -> list[dict[str, str]]:
    """The answer in three lines: recommendation, break-even, totals. Each is {label, text}."""
    rec = f.get("recommendation")
    if isinstance(rec, dict) and rec.get("decision"):
        parts = [f"{w.get('name')}: {_decision(w.get('decision'))}"
                 + (f" ({w['trigger']})" if w.get("trigger") else "")
                 for w in rec.get("workloads") or []]
        rec_text = _decision(rec["decision"]) + (f" — {'; '.join(parts)}" if parts else "")
    else:
        rec_text = "not computed (needs the self-hosted side: fleet and cost of ownership)"

    be = f.get("break_even")
    horizon = _horizon_months(f)
    if isinstance(be, dict) and be:
        parts = []
        for model, entry in be.items():
            entry = entry or {}
            month = entry.get("month")
            if month:
                req = entry.get("monthly_requests")
                extra = f" (at {num(req)} requests/month)" if _is_number(req) else ""
                parts.append(f"vs {model} in {month}{extra}")
            else:
                parts.append(f"vs {model}: none within the {horizon}-month horizon")
        be_text = "; ".join(parts)
    else:
        be_text = "not computed (" + (SELF_HOSTED_ABSENT if not has_self_hosted(f) else "no break-even in forecast") + ")"

    totals = f.get("totals") or {}
    periods = []
    for key in ("first_12_months", "horizon"):
        t = totals.get(key)
        if not isinstance(t, dict):
            continue
        sh = t.get("self_hosted_usd")
        items = [f"self-hosted {usd(sh, cents=False)}" if _is_number(sh) else "self-hosted not computed"]
        api = t.get("api_usd") or {}
        path = t.get("api_path_usd") or {}
        for model in dict.fromkeys([*path, *api]):
            if model in path and _is_number(path[model]):
                tok = f" (tokens {usd(api[model], cents=False)})" if _is_number(api.get(model)) else ""
                items.append(f"API path {model} {usd(path[model], cents=False)}{tok}")
            else:
                items.append(f"API tokens {model} {usd(api.get(model), cents=False)}")
        periods.append(f"{_period_label(key, f)}: " + ", ".join(items))
    totals_text = " · ".join(periods) if periods else "not computed"
    return [{"label": "Recommendation", "text": rec_text},
            {"label": "Break-even", "text": be_text},
            {"label": "Totals", "text": totals_text}]


def answer_lines(f: dict) -> list[str]:
    """The three-line answer as plain text (for the terminal)."""
    return [f"{a['label']}: {a['text']}" for a in answer(f)]


# --- tables ------------------------------------------------------------------------------------

def _table(caption: str, headers: list[str], rows: list[list[str]], *, numeric: set[int] | None = None,
           note: str | None = None) -> dict:
    numeric = numeric or set()
    return {"caption": caption, "headers": headers, "rows": rows, "note": note,
            "align": ["right" if i in numeric else "left" for i in range(len(headers))]}


def _scenario_table(f: dict) -> dict | None:
    scenarios = f.get("scenarios")
    if not scenarios:
        return None
    models = _models(f)
    model = models[0] if models else None
    has_path = any(((s.get("totals") or {}).get("horizon") or {}).get("api_path_usd") for s in scenarios)
    api = "API path" if has_path else "API tokens"
    first = _period_label("first_12_months", f)
    headers = ["Scenario", "Traffic", "Growth per month", "Spot prices", f"Self-hosted, {first}",
               f"{api}, {first}", "Self-hosted, horizon", f"{api}, horizon", "Break-even"]
    rows = []
    for s in scenarios:
        totals = s.get("totals") or {}
        cells = [str(s.get("name", "?")), _multiplier(s.get("traffic_multiplier"))]
        growth = s.get("growth")
        if isinstance(growth, dict):
            cells.append(", ".join(f"{k} {_pct(v) if _is_number(v) else 'series'}" for k, v in growth.items())
                         or MISSING)
        else:
            cells.append(_pct(growth))
        cells.append(_multiplier(s.get("spot_price_multiplier")))
        for key in ("first_12_months", "horizon"):
            t = totals.get(key) or {}
            sh = t.get("self_hosted_usd")
            cells.append(usd(sh, cents=False) if _is_number(sh) else "not computed")
            path = (t.get("api_path_usd") or {}).get(model)
            if not _is_number(path):
                path = (t.get("api_usd") or {}).get(model)
            cells.append(usd(path, cents=False))
        be = ((s.get("break_even") or {}).get(model) or {}) if model else {}
        cells.append(be.get("month") or ("none in horizon" if s.get("break_even") else "not computed"))
        rows.append(cells)
    note = f"API figures and break-even against {model}. Low and high move traffic, growth and spot prices together."
    if has_path:
        note += " API path = token bill plus the API path's own people and compliance."
    return _table("Scenarios", headers, rows, numeric={4, 5, 6, 7}, note=note)


def _sensitivity_value(entry: dict, x: Any) -> str:
    unit = entry.get("unit")
    if unit is None:
        unit = "fraction" if entry.get("parameter") == "uncertainty_buffer" else "multiplier"
    if unit == "multiplier":
        return _multiplier(x)
    if unit == "fraction":
        return _pct(x)
    return plain_value(x)


def _sensitivity_table(f: dict) -> dict | None:
    sens = f.get("sensitivity")
    if not sens:
        return None
    headers = ["Parameter", "Low", "High", "Break-even (low)", "Break-even (high)",
               "Horizon savings (low)", "Horizon savings (high)"]
    rows = []
    for s in sens:
        p = str(s.get("parameter", "?"))
        rows.append([SENSITIVITY_LABELS.get(p, p), _sensitivity_value(s, s.get("low_value")),
                     _sensitivity_value(s, s.get("high_value")),
                     s.get("break_even_low") or "none in horizon", s.get("break_even_high") or "none in horizon",
                     usd(s.get("horizon_savings_low_usd"), cents=False),
                     usd(s.get("horizon_savings_high_usd"), cents=False)])
    model = next((s.get("model") for s in sens if s.get("model")), None)
    base = next((s for s in sens if "break_even_base" in s or "horizon_savings_base_usd" in s), None)
    note = "One parameter at a time, the others at their base values."
    if model:
        note += f" Break-even and savings (API path minus self-hosted, whole horizon) are against {model}."
    if base:
        note += (f" Base: break-even {base.get('break_even_base') or 'none in horizon'}, "
                 f"savings {usd(base.get('horizon_savings_base_usd'), cents=False)}.")
    return _table("Sensitivity of the break-even month", headers, rows, numeric={5, 6}, note=note)


def _fleet_table(f: dict) -> dict:
    if not has_fleet(f):
        return _table("Fleet per month", [], [], note=f"No fleet in this forecast: {SELF_HOSTED_ABSENT}.")
    headers = ["Month", "Workload", "Region", "Instance type", "GPU", "GPUs × TP", "Purchase", "Instances",
               "Replicas", "USD/hour", "Hours", "USD"]
    rows = []
    for month, name, e in _fleet_rows(f):
        rows.append([month, name, e.get("region", MISSING), e.get("instance_type", MISSING), e.get("gpu", MISSING),
                     f"{plain_value(e.get('gpus_per_instance'))} × TP{plain_value(e.get('tp'))}",
                     e.get("purchase", MISSING), num(e.get("count")), num(e.get("replicas")),
                     usd_rate(e.get("usd_per_hour")), num(e.get("hours")), usd(e.get("usd"))])
    return _table("Fleet per month", headers, rows, numeric={7, 8, 9, 10, 11})


def _cost_table(f: dict) -> dict:
    models = _models(f)
    sh = has_self_hosted(f)
    headers = ["Month"]
    if sh:
        headers += [CATEGORY_LABELS[c] for c in CATEGORIES] + ["Self-hosted total"]
    has_path = any(m.get("api_path_usd") for m in _months(f))
    headers += [f"API path {m}" if has_path else f"API {m}" for m in models]
    rows = []
    for m in _months(f):
        row = [m.get("month", MISSING)]
        if sh:
            s = m["self_hosted_usd"]
            row += [usd(s.get(c)) for c in CATEGORIES] + [usd(s.get("total"))]
        src = m.get("api_path_usd") if has_path else m.get("api_usd")
        row += [usd((src or {}).get(model)) for model in models]
        rows.append(row)
    note = None if sh else f"Only the API side: {SELF_HOSTED_ABSENT}."
    if has_path:
        note = (note + " " if note else "") + "API path = token bill plus the API path's own people, data/eval and compliance."
    unused = [m.get("unused_committed_usd") for m in _months(f) if _is_number(m.get("unused_committed_usd"))]
    if sh and unused:
        note = (note + " " if note else "") + (
            f"Committed (reserved) hours left unused off-peak: {usd(sum(unused))} over the horizon, "
            "already inside Compute: commitments are paid whether used or not.")
    return _table("Cost per month and category", headers, rows, numeric=set(range(1, len(headers))), note=note)


def _api_table(f: dict) -> dict:
    models = _models(f)
    headers = ["Month", "Workload"] + [f"{m} tokens" for m in models]
    rows = []
    for m in _months(f):
        for w in m.get("workloads") or []:
            rows.append([m.get("month", MISSING), w.get("name", "?")]
                        + [usd((w.get("api_usd") or {}).get(model)) if model in (w.get("api_usd") or {}) else "n/a"
                           for model in models])
        if len(m.get("workloads") or []) > 1:
            rows.append([m.get("month", MISSING), "all"] + [usd((m.get("api_usd") or {}).get(model)) for model in models])
    return _table("API bill per model (tokens only)", headers, rows, numeric=set(range(2, len(headers))))


def _demand_table(f: dict) -> dict:
    cap = any("capacity_requests_per_s" in w for m in _months(f) for w in m.get("workloads") or [])
    headers = ["Month", "Workload", "Requests", "Input tokens", "Output tokens", "Peak requests/s"]
    if cap:
        headers += ["Capacity requests/s", "Replicas"]
    rows = []
    for m in _months(f):
        for w in m.get("workloads") or []:
            row = [m.get("month", MISSING), w.get("name", "?"), num(w.get("requests")), millions(w.get("input_tokens")),
                   millions(w.get("output_tokens")), num(w.get("peak_requests_per_s"), 2)]
            if cap:
                row += [num(w.get("capacity_requests_per_s"), 2), num(w.get("replicas"))]
            rows.append(row)
    return _table("Demand and capacity", headers, rows, numeric=set(range(2, len(headers))),
                  note=None if cap else f"Capacity not computed: {SELF_HOSTED_ABSENT}.")


# the assumptions a reader needs, by a keyword that the forecast's assumption names contain
EXPECTED_ASSUMPTIONS = (
    ("reserved", "reserved-instance discounts"),
    ("spot", "spot interruption factor"),
    ("throughput", "throughput model and its calibration error"),
    ("buffer", "uncertainty buffer"),
)


def _assumption_tables(f: dict) -> tuple[dict, dict, list[str]]:
    rows = [["hours_per_month", plain_value(f.get("hours_per_month")),
             "AWS and Infracost convention (365 × 24 / 12)", "no"]]
    seen = {"hours_per_month"}
    for a in f.get("assumptions") or []:
        name = str(a.get("name", "?"))
        if name in seen:
            continue
        seen.add(name)
        rows.append([name, plain_value(a.get("value")), str(a.get("source") or MISSING),
                     "yes" if a.get("is_assumption") else "no"])
    names = " ".join(seen).lower()
    missing = [what for key, what in EXPECTED_ASSUMPTIONS if key not in names]
    notes = []
    if missing:
        notes.append("Not stated in this forecast: " + ", ".join(missing) + ".")
    assumptions = _table("Assumptions", ["Name", "Value", "Source", "Our assumption"], rows,
                         note="“Our assumption” marks values the planner chose rather than read from a price list.")
    src_rows = []
    for p in f.get("price_sources") or []:
        src_rows.append([str(p.get("kind", MISSING)), str(p.get("source", MISSING)), str(p.get("date", MISSING)),
                         str(p.get("version") or MISSING), str(p.get("file") or MISSING)])
    sources = _table("Price sources", ["Kind", "Source", "Date", "Version", "File"], src_rows,
                     note=None if src_rows else "No price sources listed in this forecast.")
    return assumptions, sources, notes


# --- risks and triggers ------------------------------------------------------------------------

def _risks(f: dict) -> list[str]:
    out: list[str] = []
    rec = f.get("recommendation") if isinstance(f.get("recommendation"), dict) else {}
    for w in rec.get("workloads") or []:
        if w.get("reason"):
            out.append(f"{w.get('name')}: {_decision(w.get('decision'))} — {w['reason']}")
    out += [str(t) for t in rec.get("triggers") or []]

    months = _months(f)
    models = _models(f)
    if has_self_hosted(f) and months:
        first, last = months[0], months[-1]
        lo, hi = first["self_hosted_usd"].get("total"), last["self_hosted_usd"].get("total")
        out.append(f"Spend threshold: self-hosting pays while the monthly API path cost stays above the "
                   f"self-hosted monthly cost ({usd(lo)} in {first.get('month')}, {usd(hi)} in {last.get('month')}); "
                   f"re-run the plan when actual traffic or the API bill leaves the scenario range.")
    elif models:
        threshold = (f.get("plan") or {}).get("recommendation_spend_threshold_usd_month")
        peak = max((sum((m.get("api_usd") or {}).get(k, 0.0) for k in models[:1]) for m in months), default=None)
        if _is_number(threshold):
            out.append(f"Spend threshold: self-hosting is worth a look once the API bill passes {usd(threshold)}/month "
                       f"(highest forecast month vs {models[0]}: {usd(peak)}).")
    out.append("Latency: a tighter TTFT or time-per-token SLO lowers the batch each replica can serve and grows "
               "the fleet; an API that cannot meet the SLO forces self-hosting. Re-run after any SLO change.")
    out.append("Residency and privacy: a new rule that keeps data in-region removes the API option for that "
               "workload; a provider that starts offering compliant in-region processing brings it back.")
    out.append("Vendor change: when a compared API model is deprecated or re-priced, or a new open-weight model "
               "changes the throughput per GPU, refresh the prices and re-run the forecast.")

    # spot exposure and peak instance needs (quota), from the fleet itself
    spot_worst = None
    peak: dict[tuple[str, str], tuple[float, float, str]] = {}
    per_month: dict[str, tuple[float, float]] = {}
    for month, _, e in _fleet_rows(f):
        count = float(e.get("count") or 0)
        spot, total = per_month.get(month, (0.0, 0.0))
        per_month[month] = (spot + (count if e.get("purchase") == "spot" else 0.0), total + count)
    # instances of each (region, type) per month, summed in one pass (linear in the fleet lines)
    same_month: dict[tuple[Any, tuple[str, str]], list[float]] = {}
    for month, _, e in _fleet_rows(f):
        key = (str(e.get("region")), str(e.get("instance_type")))
        slot = same_month.setdefault((month, key), [0.0, float(e.get("gpus_per_instance") or 0)])
        slot[0] += float(e.get("count") or 0)
    for (month, key), (same, gpus_per_instance) in same_month.items():  # months in order
        if key not in peak or same > peak[key][0]:
            peak[key] = (same, same * gpus_per_instance, month)
    for month, (spot, total) in per_month.items():
        if spot and (spot_worst is None or spot / total > spot_worst[0] / spot_worst[1]):
            spot_worst = (spot, total, month)
    if spot_worst:
        out.append(f"Spot exposure: up to {num(spot_worst[0])} of {num(spot_worst[1])} instances run on spot "
                   f"({spot_worst[2]}); an interruption removes that capacity until on-demand replaces it.")
    for (region, itype), (count, gpus, month) in sorted(peak.items()):
        out.append(f"Quota: {region} must allow {num(count)} × {itype} ({num(gpus)} GPUs) at the peak in {month}; "
                   f"check the EC2 vCPU quota for the instance family before provisioning.")
    return out


# --- the context both templates render ---------------------------------------------------------

def context(f: dict, *, generated_at: str, charts: dict[str, str] | None = None) -> dict:
    plan = f.get("plan") or {}
    months = _months(f)
    assumptions, sources, assumption_notes = _assumption_tables(f)
    absent = []
    if not has_fleet(f):
        absent.append("fleet")
    if not has_self_hosted(f):
        absent.append("self-hosted cost of ownership")
    for key, what in (("break_even", "break-even"), ("recommendation", "recommendation"),
                      ("scenarios", "scenarios"), ("sensitivity", "sensitivity")):
        if not f.get(key):
            absent.append(what)
    span = f"{months[0].get('month')} to {months[-1].get('month')}" if months else MISSING
    return {
        "title": f"Capacity plan: {plan.get('name') or 'unnamed plan'}",
        "meta": [("Plan file", str(plan.get("file") or MISSING)), ("Months", f"{span} ({len(months)})"),
                 ("Workloads", ", ".join(_workload_names(f)) or MISSING),
                 ("Compared API models", ", ".join(_models(f)) or MISSING),
                 ("Generated", generated_at)],
        "answer": answer(f),
        "absent": absent,
        "self_hosted": has_self_hosted(f),
        "scenarios": _scenario_table(f),
        "sensitivity": _sensitivity_table(f),
        "fleet": _fleet_table(f),
        "costs": _cost_table(f),
        "api": _api_table(f),
        "demand": _demand_table(f),
        "assumptions": assumptions,
        "sources": sources,
        "assumption_notes": assumption_notes,
        "risks": _risks(f),
        "warnings": [str(w) for w in f.get("warnings") or []],
        "charts": charts or {},
    }


def _env(autoescape: bool):
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["mdcell"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    return env


def render_markdown(forecast: dict, *, generated_at: str) -> str:
    """report.md: GitHub-flavoured Markdown for wikis and pull requests (charts are in report.html)."""
    import re

    text = _env(False).get_template("report.md.j2").render(**context(forecast, generated_at=generated_at))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def render_html(forecast: dict, *, generated_at: str) -> str:
    """report.html: one self-contained file (inline CSS and SVG, no scripts, no external URLs)."""
    from planner import charts

    svgs = charts.all_charts(forecast)
    text = _env(True).get_template("report.html.j2").render(**context(forecast, generated_at=generated_at,
                                                                       charts=svgs))
    return text.rstrip("\n") + "\n"


# --- machine-readable outputs ------------------------------------------------------------------

def _is_money_key(key: str) -> bool:
    return key == "usd" or key.endswith("_usd")


def _plain(x: Any, path: str, money: bool) -> Any:
    """JSON-ready copy: numpy scalars to Python, money rounded half-up to the cent, no NaN."""
    if hasattr(x, "item") and not isinstance(x, (str, bytes, dict, list)):
        x = x.item()
    if isinstance(x, Decimal):
        x = float(x)
    if isinstance(x, dict):
        return {str(k): _plain(v, f"{path}.{k}", money or _is_money_key(str(k))) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v, f"{path}[{i}]", money) for i, v in enumerate(x)]
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"forecast{path}: {x} is not a number JSON can carry")
        if money:
            return float(_round_half_up(x, 2))
        return x + 0.0 if x == 0 else x
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    if isinstance(x, Path):
        return str(x)
    if hasattr(x, "isoformat"):
        return x.isoformat()
    raise TypeError(f"forecast{path}: {type(x).__name__} is not JSON data")


def to_json(forecast: dict) -> str:
    """forecast.json: key order as built, indent 2, money rounded to the cent (here only)."""
    return json.dumps(_plain(forecast, "", False), sort_keys=False, indent=2, ensure_ascii=False,
                      allow_nan=False) + "\n"


def _csv_money(x: float) -> str:
    return f"{_round_half_up(x, 2):.2f}"


def _csv_qty(x: Any) -> str:
    if not _is_number(x):
        return ""
    text = f"{_round_half_up(x, 6):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


CSV_COLUMNS = ("month", "workload", "category", "item", "quantity", "unit", "usd")


def csv_rows(forecast: dict) -> list[tuple]:
    """Tidy line items: (month, workload, category, item, quantity, unit, usd), money unrounded.

    Per workload: the API token bill per model (quantity = requests) and each fleet line
    (quantity = instance-hours). Plan-level (workload "*"): self-hosted categories other than
    compute, any compute not in the fleet lines (e.g. unused commitments), and the API path's own
    costs per model. Self-hosted rows of a month sum to its self-hosted total; api_tokens plus
    api_path rows of a model sum to its API path cost.
    """
    rows: list[tuple] = []
    for m in _months(forecast):
        month = m.get("month")
        fleet_usd = 0.0
        for w in m.get("workloads") or []:
            name = w.get("name")
            for model, value in (w.get("api_usd") or {}).items():
                rows.append((month, name, "api_tokens", model, w.get("requests"), "requests", value))
            for e in w.get("fleet") or []:
                item = f"{e.get('region')}/{e.get('instance_type')}/{e.get('purchase')}"
                qty = (e.get("count") or 0) * (e.get("hours") or 0)
                rows.append((month, name, "compute", item, qty, "instance_hours", e.get("usd")))
                fleet_usd += float(e.get("usd") or 0.0)
        s = m.get("self_hosted_usd")
        if isinstance(s, dict):
            compute = s.get("compute")
            if _is_number(compute) and abs(compute - fleet_usd) >= 0.005:
                item = "compute_not_in_fleet" if has_fleet(forecast) else "compute"
                rows.append((month, "*", "compute", item, None, "", compute - fleet_usd))
            for c in CATEGORIES[1:]:
                if _is_number(s.get(c)):
                    rows.append((month, "*", "self_hosted", c, None, "", s[c]))
        api = m.get("api_usd") or {}
        for model, value in (m.get("api_path_usd") or {}).items():
            extra = value - float(api.get(model) or 0.0)
            rows.append((month, "*", "api_path", f"{model} own costs", None, "", extra))
    return rows


def to_csv(forecast: dict) -> str:
    """forecast.csv: one row per month × workload × line item, in forecast order, cents as 0.00."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for month, workload, category, item, qty, unit, value in csv_rows(forecast):
        writer.writerow([month, workload, category, item, _csv_qty(qty), unit,
                         _csv_money(value) if _is_number(value) else ""])
    return buf.getvalue()


def write(forecast: dict, out_dir: Path, *, generated_at: str) -> list[Path]:
    """Write report.md, report.html, forecast.csv and forecast.json as the folder `out_dir`.

    Everything is rendered in memory first; `planner.outdir.write_folder` then replaces the folder
    in one step. A rendering error, a failed write or an interrupt leaves `out_dir` as it was.
    """
    from planner import outdir

    contents = {
        "report.md": render_markdown(forecast, generated_at=generated_at),
        "report.html": render_html(forecast, generated_at=generated_at),
        "forecast.csv": to_csv(forecast),
        "forecast.json": to_json(forecast),
    }
    return outdir.write_folder(out_dir, {name: contents[name] for name in FILES})
