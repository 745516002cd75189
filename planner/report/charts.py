"""Charts of a report as inline SVG strings, drawn from the view model (`planner.report.view.ChartData`).

matplotlib (Agg backend) is imported lazily. Every chart comes in two renderings: `wide` for a
desktop page and print, `narrow` for a phone (about 400 px wide, so its text stays at 11 px or more
when the page shows it at its natural width). Legends sit outside the plotting area, below it.
When an API line would stretch the axis so far that the self-hosted bars are a few pixels tall,
the axis is clipped and the line's value is written where it leaves the chart.

Each SVG is deterministic: a fixed hash salt per chart and rendering (element ids do not collide
when several charts sit in one HTML page), no date or creator metadata, text kept as text, and no
XML prolog, DOCTYPE or namespace URL, so it can sit inline in HTML5 without naming any address.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

from planner.report.format import usd_short, usd_whole
from planner.report.view import ChartData, Line

CATEGORY_COLORS = {"compute": "#3b6ea5", "platform": "#7aa6d6", "people": "#e39c3c", "data_eval": "#c9b458",
                   "compliance": "#9b6bb5", "retraining": "#5fa777", "committed_after_horizon": "#1f3d5c",
                   "buffer": "#b8b8b8"}
LINE_COLORS = ("#c0392b", "#2c3e50", "#16a085", "#8e44ad", "#d35400")
PURCHASE_HATCH = {"reserved_3y": "", "reserved_1y": "", "on_demand": "//", "spot": ".."}
PURCHASE_ALPHA = {"reserved_3y": 1.0, "reserved_1y": 0.85, "on_demand": 0.6, "spot": 0.4}
LOW_COLOR, HIGH_COLOR = "#3b6ea5", "#e39c3c"
# an API line more than this many times the self-hosted cost gets a clipped axis
CLIP_RATIO = 3.0


@dataclass(frozen=True)
class Style:
    name: str  # "wide" or "narrow"
    figsize: tuple[float, float]
    font: float
    title: float
    max_ticks: int
    legend_cols: int


WIDE = Style("wide", (8.0, 3.4), 9.0, 11.0, 12, 3)
NARROW = Style("narrow", (4.3, 3.0), 10.0, 11.0, 6, 1)
STYLES = (WIDE, NARROW)


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
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05,
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


def _figure(title: str, xlabel: str, ylabel: str, style: Style):
    _, plt = _plt()
    with plt.rc_context({"font.size": style.font, "axes.titlesize": style.title, "axes.labelsize": style.font,
                         "xtick.labelsize": style.font, "ytick.labelsize": style.font,
                         "legend.fontsize": style.font, "axes.spines.top": False, "axes.spines.right": False}):
        fig, ax = plt.subplots(figsize=style.figsize, layout="constrained")
    ax.set_title(title, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _legend(fig, ax, style: Style, handles=None) -> None:
    """The legend below the plotting area, outside the data."""
    handles_labels = ax.get_legend_handles_labels() if handles is None else handles
    if not handles_labels[0]:
        return
    if style is NARROW:  # long labels wrap rather than widen the figure (and shrink its text on a phone)
        import textwrap

        handles_labels = (handles_labels[0], [textwrap.fill(label, 36, break_on_hyphens=False)
                                              for label in handles_labels[1]])
    cols = style.legend_cols
    if style is WIDE and max(len(label) for label in handles_labels[1]) > 40:
        cols = 2  # long labels in three columns would widen the figure past its width
    fig.legend(*handles_labels, loc="outside lower center", ncols=cols, frameon=False,
               fontsize=style.font)
    if style is NARROW:  # one legend entry a line: the figure grows so the plotting area keeps its height
        width, height = fig.get_size_inches()
        fig.set_size_inches(width, height + 0.21 * sum(1 + label.count("\n") for label in handles_labels[1]))


def _usd_axis(ax, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(FuncFormatter(lambda v, _p: usd_short(v)))


def _month_ticks(ax, months: list[str], style: Style) -> None:
    step = max(1, math.ceil(len(months) / style.max_ticks))
    ticks = list(range(0, len(months), step))
    rotate = style is WIDE and len(ticks) > 6 or style is NARROW and len(ticks) > 3
    ax.set_xticks(ticks)
    ax.set_xticklabels([months[i] for i in ticks], rotation=45 if rotate else 0, ha="right" if rotate else "center")
    ax.set_xlim(-0.6, len(months) - 0.4)


def _clip_top(base_max: float, lines: list[Line]) -> tuple[float, list[Line]]:
    """The y-axis top and the lines it clips: lines above CLIP_RATIO × the self-hosted maximum are
    cut off, so the bars stay readable."""
    if base_max <= 0:
        return max([max(line.values) for line in lines] + [1.0]) * 1.1, []
    fits = [line for line in lines if max(line.values) <= CLIP_RATIO * base_max]
    top = 1.15 * max([base_max] + [max(line.values) for line in fits])
    return top, [line for line in lines if max(line.values) > top]


def _annotate_clipped(ax, months: list[str], line: Line, top: float, color: str, style: Style, row: int) -> None:
    """Where a clipped line leaves the chart: an arrow and its highest value (`row`: the how-manieth
    clipped line, so the notes of several stack instead of overlapping)."""
    j = next(i for i, v in enumerate(line.values) if v > top)
    peak = max(line.values)
    k = line.values.index(peak)
    ax.annotate(f"↑ {usd_short(peak)} in {months[k]}", xy=(j, top), xytext=(2, -2 - row * (style.font + 3)),
                textcoords="offset points",
                ha="left" if j < len(months) / 2 else "right", va="top", color=color, fontsize=style.font,
                annotation_clip=False)


def cost_by_category(data: ChartData, style: Style = WIDE) -> str:
    """Monthly self-hosted cost stacked by category, next to the API path per model."""
    months = data.months
    fig, ax = _figure("Monthly cost: self-hosted by category vs API", "Month", "USD per month", style)
    x = list(range(len(months)))
    bottom = [0.0] * len(months)
    for key, line in data.categories:
        if not any(line.values):
            continue
        ax.bar(x, line.values, 0.7, bottom=bottom, color=CATEGORY_COLORS[key], label=line.label)
        bottom = [b + v for b, v in zip(bottom, line.values)]
    top, clipped = _clip_top(max(data.self_hosted_total), data.api_lines)
    for i, line in enumerate(data.api_lines):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        label = line.label + (f" (off scale, up to {usd_short(max(line.values))})" if line in clipped else "")
        ax.plot(x, line.values, marker="o", markersize=3, color=color, linewidth=1.8, label=label)
        if line in clipped:
            _annotate_clipped(ax, months, line, top, color, style, clipped.index(line))
    ax.set_ylim(0, top)
    _month_ticks(ax, months, style)
    _usd_axis(ax)
    _legend(fig, ax, style)
    return _svg(fig, f"cost-{style.name}")


def _cumulative(values: list[float]) -> list[float]:
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def cumulative(data: ChartData, style: Style = WIDE) -> str:
    """Cumulative cost, self-hosted vs each API model, with each break-even month marked."""
    months = data.months
    fig, ax = _figure("Cumulative cost and break-even", "Month", "USD, cumulative", style)
    x = list(range(len(months)))
    own = _cumulative(data.self_hosted_total)
    ax.plot(x, own, color=CATEGORY_COLORS["compute"], linewidth=2.4, label="self-hosted (total)")
    lines = [Line(line.label, _cumulative(line.values)) for line in data.api_lines]
    top, clipped = _clip_top(max(own), lines)
    for i, (line, raw) in enumerate(zip(lines, data.api_lines)):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        clip = line in clipped
        ax.plot(x, line.values, color=color, linewidth=1.6,
                label=line.label + (f" (off scale, {usd_short(line.values[-1])} in all)" if clip else ""))
        if clip:
            _annotate_clipped(ax, months, line, top, color, style, clipped.index(line))
        month = data.break_even[raw.label]
        if month in months:
            j = months.index(month)
            ax.axvline(j, color=color, linestyle="--", linewidth=1)
            ax.plot([j], [min(line.values[j], top)], marker="D", color=color, markersize=6, linestyle="none",
                    label=f"break-even vs {raw.label.split(': ', 1)[-1]}: {month}")
    ax.set_ylim(0, top)
    _month_ticks(ax, months, style)
    _usd_axis(ax)
    _legend(fig, ax, style)
    return _svg(fig, f"cumulative-{style.name}")


def fleet_composition(data: ChartData, style: Style = WIDE) -> str:
    """Instances per month (at the busiest hour), stacked by instance type and purchase option."""
    months = data.months
    fig, ax = _figure("Fleet composition", "Month", "instances", style)
    types = list(dict.fromkeys(itype for itype, _, _ in data.fleet))
    x = list(range(len(months)))
    bottom = [0.0] * len(months)
    for itype, purchase, line in data.fleet:
        color = LINE_COLORS[types.index(itype) % len(LINE_COLORS)] if len(types) > 1 else CATEGORY_COLORS["compute"]
        ax.bar(x, line.values, 0.7, bottom=bottom, color=color, alpha=PURCHASE_ALPHA[purchase],
               hatch=PURCHASE_HATCH[purchase], edgecolor="white", linewidth=0.5, label=line.label)
        bottom = [b + v for b, v in zip(bottom, line.values)]
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _month_ticks(ax, months, style)
    _legend(fig, ax, style)
    return _svg(fig, f"fleet-{style.name}")


def demand_vs_capacity(data: ChartData, style: Style = WIDE) -> str:
    """Peak demand vs provisioned capacity per workload, in requests/s."""
    months = data.months
    fig, ax = _figure("Peak demand vs provisioned capacity", "Month", "requests/s", style)
    x = list(range(len(months)))
    for i, (peak, capacity) in enumerate(data.demand):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        ax.plot(x, peak.values, color=color, marker="o", markersize=3, linewidth=1.8, label=peak.label)
        edges = [k - 0.5 for k in x] + [len(x) - 0.5]
        ax.step(edges, capacity.values + capacity.values[-1:], where="post", color=color, linestyle="--",
                linewidth=1.4, label=capacity.label)
    top = max([v for peak, cap in data.demand for v in peak.values + cap.values] + [1.0])
    ax.set_ylim(0, top * 1.1)
    _month_ticks(ax, months, style)
    _legend(fig, ax, style)
    return _svg(fig, f"demand-{style.name}")


def tornado(data: ChartData, style: Style = WIDE) -> str:
    """Horizon savings (API path minus self-hosted) with each parameter at its low and its high value.

    Both ends are drawn as their own bar, side by side, from the base value, each labelled with its
    value, so neither hides the other when both move the savings the same way.
    """
    if not data.tornado or data.tornado_base_usd is None:
        return ""
    base = data.tornado_base_usd
    bars = sorted(data.tornado, key=lambda b: abs(b.high_usd - b.low_usd))
    title = "Sensitivity of horizon savings" + (f"\nvs {data.tornado_model}" if style is NARROW and data.tornado_model
                                               else f" vs {data.tornado_model}" if data.tornado_model else "")
    xlabel = "savings over the horizon, USD (API path − self-hosted)" if style is WIDE else \
        "horizon savings, USD\n(API path − self-hosted)"
    fig, ax = _figure(title, xlabel, "", style)
    if style is NARROW:  # on a phone each parameter keeps room for its two labelled bars
        width, height = style.figsize
        fig.set_size_inches(width, max(height, 1.4 + 0.45 * len(bars)))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    h = 0.38
    y = list(range(len(bars)))
    ax.barh([k + h / 2 for k in y], [b.low_usd - base for b in bars], h, left=base, color=LOW_COLOR,
            label="parameter at its low value")
    ax.barh([k - h / 2 for k in y], [b.high_usd - base for b in bars], h, left=base, color=HIGH_COLOR,
            label="parameter at its high value")
    ax.axvline(base, color="black", linewidth=1, label=f"base: {usd_whole(base)}")
    values = [base] + [b.low_usd for b in bars] + [b.high_usd for b in bars]
    lo, hi = min(values), max(values)
    span = (hi - lo) or abs(base) or 1.0
    for k, b in enumerate(bars):
        for value, text, dy in ((b.low_usd, b.low_label, h / 2), (b.high_usd, b.high_label, -h / 2)):
            right = value >= base
            ax.text(value + (0.01 if right else -0.01) * span, k + dy, f"{text}: {usd_short(value)}",
                    va="center", ha="left" if right else "right", fontsize=style.font - (1 if style is WIDE else 0))
    margin = 0.9 * span if style is NARROW else 0.3 * span  # room for the value labels beside the bars
    ax.set_xlim(lo - margin, hi + margin)
    ax.set_yticks(y)
    ax.set_yticklabels([b.label for b in bars])
    _usd_axis(ax, "x")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if style is NARROW else 7))
    _legend(fig, ax, style)
    return _svg(fig, f"tornado-{style.name}")


def fan(data: ChartData, style: Style = WIDE) -> str:
    """Monthly cost over the Monte Carlo draws: the p10–p90 band and the median of the self-hosted
    total and of the primary model's API path, each with the base forecast's line for reference."""
    b = data.bands
    if b is None:
        return ""
    months = data.months
    title = "Monthly cost over the draws" + ("\n" if style is NARROW else ", ") + b.title_note
    fig, ax = _figure(title, "Month", "USD per month", style)
    x = list(range(len(months)))
    for band, color in ((b.self_hosted, CATEGORY_COLORS["compute"]), (b.api, LINE_COLORS[0])):
        ax.fill_between(x, band.p10, band.p90, color=color, alpha=0.22, linewidth=0,
                        label=f"{band.label}: p10–p90")
        ax.plot(x, band.p50, color=color, linewidth=2.2, label=f"{band.label}: median (p50)")
        ax.plot(x, band.base, color=color, linewidth=1.2, linestyle="--", label=f"{band.label}: base forecast")
    top = max(max(b.self_hosted.p90), max(b.api.p90), max(b.self_hosted.base), max(b.api.base), 1.0)
    ax.set_ylim(0, top * 1.08)
    _month_ticks(ax, months, style)
    _usd_axis(ax)
    _legend(fig, ax, style)
    return _svg(fig, f"fan-{style.name}")


def probability(data: ChartData, style: Style = WIDE) -> str:
    """The share of draws in which self-hosting has cost no more than each API path so far, by month,
    with the break-even month's p10, p50 and p90 marked on each curve."""
    b = data.bands
    if b is None:
        return ""
    from matplotlib.ticker import FuncFormatter

    months = data.months
    title = "Chance self-hosting is cheaper by then" + ("\n" if style is NARROW else ", ") + b.title_note
    fig, ax = _figure(title, "Month", "share of draws, cumulative", style)
    x = list(range(len(months)))
    ax.axhline(0.5, color="#888888", linewidth=1, linestyle=":", label="even odds (0.5)")
    shapes = {"p10": "v", "p50": "o", "p90": "^"}
    for i, (line, marks) in enumerate(zip(b.probability, b.break_even)):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        ax.plot(x, line.values, color=color, linewidth=2, label=line.label)
        noted = [(p, getattr(marks, p)) for p in ("p10", "p50", "p90") if getattr(marks, p) in months]
        for p, month in noted:
            j = months.index(month)
            ax.plot([j], [line.values[j]], marker=shapes[p], color=color, markersize=7, linestyle="none")
            right = j > (len(months) - 1) * 2 / 3  # below the curve, towards the middle of the chart
            ax.annotate(p if style is NARROW else f"{p} {month}", xy=(j, line.values[j]),
                        xytext=(-6 if right else 6, -6), textcoords="offset points", ha="right" if right else "left",
                        va="top", color=color, fontsize=style.font, annotation_clip=False)
        if noted:
            text = "break-even " + ", ".join(f"{p} {month}" for p, month in noted)
            ax.plot([], [], marker="o", color=color, linestyle="none", label=f"{line.label}: {text}")
    ax.set_ylim(-0.03, 1.05)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    _month_ticks(ax, months, style)
    _legend(fig, ax, style)
    return _svg(fig, f"probability-{style.name}")


CHARTS = (
    ("cost", cost_by_category, "Monthly self-hosted cost by category next to the API path"),
    ("cumulative", cumulative, "Cumulative cost with the break-even month marked"),
    ("fleet", fleet_composition, "Instances at the busiest hour by type and purchase option, per month"),
    ("demand", demand_vs_capacity, "Peak demand against provisioned capacity"),
    ("tornado", tornado, "One-at-a-time sensitivity of the savings over the horizon: each parameter's low "
                         "and high value, both drawn"),
    ("fan", fan, "Monte Carlo bands of monthly cost: the p10–p90 range and the median over the draws, self-hosted "
                 "and the first compared model's API path, each next to the base forecast (dashed)"),
    ("probability", probability, "The share of draws in which self-hosting has cost no more than the API path "
                                 "from the first month to each month; markers: the break-even month's p10 (▼), "
                                 "p50 (●) and p90 (▲)"),
)


def all_charts(data: ChartData) -> dict[str, dict[str, str]]:
    """{key: {"wide": svg, "narrow": svg, "caption": str}} for every chart the data has."""
    out = {}
    for key, fn, caption in CHARTS:
        wide = fn(data, WIDE)
        if wide:
            out[key] = {"wide": wide, "narrow": fn(data, NARROW), "caption": caption}
    return out
