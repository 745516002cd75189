"""Charts of a forecast as inline SVG strings (matplotlib, Agg backend, imported lazily).

Each chart has a title, axis labels with units and a legend. The SVG is deterministic: a fixed
hash salt per chart (so element ids do not collide when several charts sit in one HTML page),
no date or creator metadata, text kept as text. The XML prolog, DOCTYPE and namespace URLs are
stripped so the SVG can sit inline in HTML5 without naming any external address.

A chart whose data the forecast lacks returns "" (the report then says what is missing).
"""

from __future__ import annotations

import io
import re
from typing import Any

from planner import report as _r

CATEGORY_COLORS = {"compute": "#3b6ea5", "platform": "#7aa6d6", "people": "#e39c3c", "data_eval": "#c9b458",
                   "compliance": "#9b6bb5", "retraining": "#5fa777", "buffer": "#b8b8b8"}
MODEL_COLORS = ("#c0392b", "#2c3e50", "#16a085", "#8e44ad", "#d35400")
PURCHASE_HATCH = {"reserved_3y": "", "reserved_1y": "", "on_demand": "//", "spot": ".."}
PURCHASE_ALPHA = {"reserved_3y": 1.0, "reserved_1y": 0.85, "on_demand": 0.6, "spot": 0.4}
FIGSIZE = (8.0, 3.6)


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return matplotlib, plt


def _svg(fig, salt: str) -> str:
    from html import escape

    matplotlib, plt = _plt()
    title = fig.axes[0].get_title() if fig.axes else salt
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"planner-{salt}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight",
                    metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text)
    text = text.replace("xlink:href=", "href=")
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # matplotlib numbers its groups (figure_1, axes_1...) per file: prefix every id and reference
    # with the chart's name so several charts can share one HTML page
    text = re.sub(r'(\sid=")([^"]+)"', lambda mo: f'{mo.group(1)}{salt}-{mo.group(2)}"', text)
    text = re.sub(r'(href="#|url\(#)([^")]+)', lambda mo: f"{mo.group(1)}{salt}-{mo.group(2)}", text)
    # an accessible name for the inline SVG; width/height stay so browsers size it
    text = re.sub(r"(<svg [^>]*>)", lambda mo: f'{mo.group(1)[:-1]} role="img" aria-labelledby="{salt}-title">'
                  f'<title id="{salt}-title">{escape(title)}</title>', text, count=1)
    return text.strip() + "\n"


def _figure(title: str, xlabel: str, ylabel: str, salt: str):
    _, plt = _plt()
    with plt.rc_context({"font.size": 9, "axes.titlesize": 11, "axes.spines.top": False,
                         "axes.spines.right": False}):
        fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _usd_axis(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    def fmt(x, _pos):
        if abs(x) >= 1e6:
            return f"${x / 1e6:,.1f}M"
        if abs(x) >= 1e3:
            return f"${x / 1e3:,.0f}k"
        return f"${x:,.0f}"

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))


def _month_ticks(ax, months: list[str]) -> None:
    step = max(1, (len(months) + 11) // 12)
    ticks = list(range(0, len(months), step))
    ax.set_xticks(ticks)
    ax.set_xticklabels([months[i] for i in ticks], rotation=45 if len(ticks) > 6 else 0,
                       ha="right" if len(ticks) > 6 else "center")
    ax.set_xlim(-0.6, len(months) - 0.4)


def _legend(ax, **kw) -> None:
    ax.legend(fontsize=8, frameon=False, loc=kw.pop("loc", "upper left"), **kw)


def _months(f: dict) -> list[str]:
    return [m.get("month", "?") for m in _r._months(f)]


def cost_by_category(forecast: dict) -> str:
    """Monthly self-hosted cost stacked by category, next to the API bill (API path) per model."""
    months = _months(forecast)
    if not months:
        return ""
    sh = _r.has_self_hosted(forecast)
    title = "Monthly cost: self-hosted by category vs API" if sh else \
        f"Monthly API bill ({_r.SELF_HOSTED_ABSENT})"
    fig, ax = _figure(title, "Month", "USD/month", "cost")
    x = list(range(len(months)))
    if sh:
        bottom = [0.0] * len(months)
        for cat in _r.CATEGORIES:
            values = [float(m["self_hosted_usd"].get(cat) or 0.0) for m in _r._months(forecast)]
            if not any(values):
                continue
            ax.bar(x, values, 0.7, bottom=bottom, color=CATEGORY_COLORS[cat],
                   label=f"self-hosted: {_r.CATEGORY_LABELS[cat].lower()}")
            bottom = [b + v for b, v in zip(bottom, values)]
    has_path = any(m.get("api_path_usd") for m in _r._months(forecast))
    for i, model in enumerate(_r._models(forecast)):
        key = "api_path_usd" if has_path else "api_usd"
        values = [(m.get(key) or {}).get(model) for m in _r._months(forecast)]
        ax.plot(x, [v if _r._is_number(v) else float("nan") for v in values], marker="o", markersize=3,
                color=MODEL_COLORS[i % len(MODEL_COLORS)], linewidth=1.8,
                label=f"{'API path' if has_path else 'API'}: {model}")
    _month_ticks(ax, months)
    _usd_axis(ax)
    ax.set_ylim(bottom=0)
    _legend(ax, bbox_to_anchor=(1.01, 1.0))
    return _svg(fig, "cost")


def cumulative(forecast: dict) -> str:
    """Cumulative cost, self-hosted vs each API model, with each break-even month marked."""
    months = _months(forecast)
    if not months:
        return ""
    sh = _r.has_self_hosted(forecast)
    title = "Cumulative cost and break-even" if sh else f"Cumulative API bill ({_r.SELF_HOSTED_ABSENT})"
    fig, ax = _figure(title, "Month", "USD (cumulative)", "cumulative")
    x = list(range(len(months)))

    def cum(values: list[float]) -> list[float]:
        out, total = [], 0.0
        for v in values:
            total += v
            out.append(total)
        return out

    if sh:
        ax.plot(x, cum([float(m["self_hosted_usd"].get("total") or 0.0) for m in _r._months(forecast)]),
                color=CATEGORY_COLORS["compute"], linewidth=2.2, label="self-hosted (total)")
    has_path = any(m.get("api_path_usd") for m in _r._months(forecast))
    key = "api_path_usd" if has_path else "api_usd"
    break_even = forecast.get("break_even") or {}
    for i, model in enumerate(_r._models(forecast)):
        color = MODEL_COLORS[i % len(MODEL_COLORS)]
        series = cum([float((m.get(key) or {}).get(model) or 0.0) for m in _r._months(forecast)])
        ax.plot(x, series, color=color, linewidth=1.6, label=f"{'API path' if has_path else 'API'}: {model}")
        month = (break_even.get(model) or {}).get("month")
        if month in months:
            j = months.index(month)
            ax.axvline(j, color=color, linestyle="--", linewidth=1)
            ax.plot([j], [series[j]], marker="D", color=color, markersize=6, linestyle="none",
                    label=f"break-even vs {model}: {month}")
    _month_ticks(ax, months)
    _usd_axis(ax)
    top = max([v for line in ax.get_lines() for v in line.get_ydata() if v == v] or [1.0])
    ax.set_ylim(0, top * 1.15)
    _legend(ax)
    return _svg(fig, "cumulative")


def fleet_composition(forecast: dict) -> str:
    """Instances per month, stacked by instance type and purchase option."""
    if not _r.has_fleet(forecast):
        return ""
    months = _months(forecast)
    groups: dict[tuple[str, str], list[float]] = {}
    for i, m in enumerate(_r._months(forecast)):
        for w in m.get("workloads") or []:
            for e in w.get("fleet") or []:
                key = (str(e.get("instance_type")), str(e.get("purchase")))
                groups.setdefault(key, [0.0] * len(months))[i] += float(e.get("count") or 0)
    fig, ax = _figure("Fleet composition", "Month", "instances", "fleet")
    order = list(PURCHASE_HATCH)
    keys = sorted(groups, key=lambda k: (k[0], order.index(k[1]) if k[1] in order else 99))
    types = list(dict.fromkeys(k[0] for k in keys))
    x = list(range(len(months)))
    bottom = [0.0] * len(months)
    for itype, purchase in keys:
        values = groups[(itype, purchase)]
        color = MODEL_COLORS[types.index(itype) % len(MODEL_COLORS)] if len(types) > 1 else CATEGORY_COLORS["compute"]
        ax.bar(x, values, 0.7, bottom=bottom, color=color, alpha=PURCHASE_ALPHA.get(purchase, 0.5),
               hatch=PURCHASE_HATCH.get(purchase, ""), edgecolor="white", linewidth=0.5,
               label=f"{itype} ({purchase.replace('_', ' ')})")
        bottom = [b + v for b, v in zip(bottom, values)]
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _month_ticks(ax, months)
    _legend(ax, bbox_to_anchor=(1.01, 1.0))
    return _svg(fig, "fleet")


def demand_vs_capacity(forecast: dict) -> str:
    """Peak demand vs provisioned capacity per workload, in requests/s."""
    months = _months(forecast)
    if not months:
        return ""
    has_cap = any("capacity_requests_per_s" in w for m in _r._months(forecast) for w in m.get("workloads") or [])
    title = "Peak demand vs provisioned capacity" if has_cap else f"Peak demand (capacity: {_r.SELF_HOSTED_ABSENT})"
    fig, ax = _figure(title, "Month", "requests/s", "demand")
    x = list(range(len(months)))
    for i, name in enumerate(_r._workload_names(forecast)):
        color = MODEL_COLORS[i % len(MODEL_COLORS)]
        peak, cap = [], []
        for m in _r._months(forecast):
            w = next((w for w in m.get("workloads") or [] if w.get("name") == name), {})
            p, c = w.get("peak_requests_per_s"), w.get("capacity_requests_per_s")
            peak.append(p if _r._is_number(p) else float("nan"))
            cap.append(c if _r._is_number(c) else float("nan"))
        ax.plot(x, peak, color=color, marker="o", markersize=3, linewidth=1.8, label=f"{name}: peak demand")
        if has_cap:
            edges = [i - 0.5 for i in x] + [len(x) - 0.5]
            ax.step(edges, cap + cap[-1:], where="post", color=color, linestyle="--", linewidth=1.4,
                    label=f"{name}: provisioned capacity")
    _month_ticks(ax, months)
    top = max([v for line in ax.get_lines() for v in line.get_ydata() if v == v] or [1.0])
    ax.set_ylim(0, top * 1.3)  # room above the highest line for the legend
    _legend(ax, ncols=2)
    return _svg(fig, "demand")


def tornado(forecast: dict) -> str:
    """Sensitivity: horizon savings (API path minus self-hosted) at each parameter's low and high value."""
    sens = [s for s in forecast.get("sensitivity") or []
            if _r._is_number(s.get("horizon_savings_low_usd")) and _r._is_number(s.get("horizon_savings_high_usd"))]
    if not sens:
        return ""
    base = next((s.get("horizon_savings_base_usd") for s in sens if _r._is_number(s.get("horizon_savings_base_usd"))),
                None)
    model = next((s.get("model") for s in sens if s.get("model")), None)
    if base is None:
        base = 0.0
    sens = sorted(sens, key=lambda s: abs(s["horizon_savings_high_usd"] - s["horizon_savings_low_usd"]))
    fig, ax = _figure("Sensitivity of horizon savings" + (f" vs {model}" if model else ""),
                      "savings over the horizon, USD (API path − self-hosted)", "parameter", "tornado")
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    y = list(range(len(sens)))
    labels = [_r.SENSITIVITY_LABELS.get(s["parameter"], s["parameter"]) for s in sens]
    lows = [s["horizon_savings_low_usd"] - base for s in sens]
    highs = [s["horizon_savings_high_usd"] - base for s in sens]
    ax.barh(y, lows, left=base, color="#7aa6d6", height=0.6, label="parameter at low value")
    ax.barh(y, highs, left=base, color="#e39c3c", height=0.6, label="parameter at high value")
    ax.axvline(base, color="black", linewidth=1, label=f"base: {_r.usd(base, cents=False)}")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _r.usd(v, cents=False)))
    _legend(ax, loc="lower right")
    return _svg(fig, "tornado")


CHARTS = (
    ("cost", cost_by_category, "Monthly self-hosted cost by category next to the API bill"),
    ("cumulative", cumulative, "Cumulative cost with the break-even month marked"),
    ("fleet", fleet_composition, "Instances by type and purchase option, per month"),
    ("demand", demand_vs_capacity, "Peak demand against provisioned capacity"),
    ("tornado", tornado, "One-at-a-time sensitivity of the savings over the horizon"),
)


def all_charts(forecast: dict) -> dict[str, dict[str, Any]]:
    """{key: {"svg": str, "caption": str}} for every chart the forecast has data for."""
    out = {}
    for key, fn, caption in CHARTS:
        svg = fn(forecast)
        if svg:
            out[key] = {"svg": svg, "caption": caption}
    return out
