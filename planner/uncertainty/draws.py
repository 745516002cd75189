"""The sampled values of a Monte Carlo run: one row per draw, all drawn up front from the seed.

Each quantity has its own random stream (`numpy.random.default_rng([seed, k])`, k its position in
`Uncertainty.QUANTITIES`), so changing one quantity's distribution leaves the others' draws
as they were. Everything is drawn before any draw is evaluated: how the draws are then split
between processes cannot change a number.

Token multipliers are rounded to a grid of 5 % steps (in log space: exp(0.05 k)), so the
throughput model is evaluated at a few dozen token counts per workload rather than at one per
draw; 1.0 stays exactly 1.0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.plan.schema import NORMAL_MULTIPLIER_FLOOR, Multiplier, Uncertainty, _Spread

TOKEN_GRID_LOG_STEP = 0.05
MIN_MONTHLY_GROWTH = -0.5  # a drawn monthly growth never falls below −50 %
MEDIAN_ABS_OF_STANDARD_NORMAL = 0.6744897501960817  # the median of |z|, z standard normal


@dataclass(frozen=True)
class Draws:
    count: int
    traffic: np.ndarray  # [draw, workload] multiplier on requests per day
    growth: np.ndarray  # [draw, workload] added to the monthly growth
    tokens: np.ndarray  # [draw, workload] multiplier on input and output tokens (on the grid)
    throughput: np.ndarray  # [draw, workload] multiplier on what one replica sustains
    on_demand_price: np.ndarray  # [draw] multiplier on on-demand and reserved rates
    spot_price: np.ndarray  # [draw] multiplier on spot rates
    api_price: np.ndarray  # [draw, API model] multiplier on token prices per year
    throughput_sd: tuple[float, ...]  # per workload: the throughput model's error spread used (from the
    # calibration of its engine unless the plan sets it)


# the figures of `fit_quality.<engine>` the throughput spread is read from, first found first: the
# model's error on measurements from sources it was not fitted on (leave-one-source-out), for
# throughput at a measured operating point and at maximum (the larger of the two), then the same
# leave-one-out, then in-sample
SPREAD_FIGURES = (("loso_operating_point_throughput_median_pct", "loso_max_throughput_median_pct"),
                  ("loo_operating_point_throughput_median_pct", "loo_max_throughput_median_pct"),
                  ("in_sample_operating_point_throughput_median_pct", "in_sample_max_throughput_median_pct"))


def throughput_error_sd(perf_fit: dict[str, Any], engine: str) -> tuple[float, str]:
    """The spread (sd of log(measured / predicted)) of the throughput model's error for `engine`,
    from its calibration's median absolute percentage error: for a normal error e, median |e| =
    0.6745 sd, so sd = ln(1 + median) / 0.6745.

    Reads `fit_quality.<engine>` as `planner.inputs.Inputs.perf_fit` holds it, the larger of the
    leave-one-source-out median errors of throughput at an operating point and at maximum
    (`SPREAD_FIGURES`: leave-one-out, then in-sample, where a calibration lacks them). Returns
    (sd, where the figure came from).
    """
    figures = perf_fit.get(engine)
    if isinstance(figures, dict):
        for keys in SPREAD_FIGURES:
            found = [(float(figures[key]), key) for key in keys if isinstance(figures.get(key), (int, float))]
            if found:
                pct, key = max(found)
                return (math.log1p(pct / 100) / MEDIAN_ABS_OF_STANDARD_NORMAL,
                        f"fit_quality.{engine}.{key} = {pct:g} %")
    raise ValueError(f"the throughput model's calibration records no median error for engine {engine!r} "
                     "(fit_quality); give uncertainty.throughput.sd in the plan")


def _sample(spread: _Spread, rng: np.random.Generator, shape: tuple[int, ...], *,
            sd: float | None = None) -> np.ndarray:
    multiplier = isinstance(spread, Multiplier)
    kind = spread.distribution
    if kind == "fixed":
        return np.full(shape, 1.0 if multiplier else 0.0)
    if kind == "uniform":
        return spread.low + (spread.high - spread.low) * rng.random(shape)
    sd = spread.sd if spread.sd is not None else sd
    z = rng.standard_normal(shape)
    if kind == "lognormal":
        return (spread.median if spread.median is not None else 1.0) * np.exp(sd * z)
    centre = spread.mean if spread.mean is not None else (1.0 if multiplier else 0.0)
    values = centre + sd * z
    return np.maximum(values, NORMAL_MULTIPLIER_FLOOR) if multiplier else values


def sample(spec: Uncertainty, engines: list[str], api_models: int, perf_fit: dict[str, Any]) -> Draws:
    """Every draw's values, from the plan's seed (`engines`: each workload's serving engine)."""
    n = spec.draws
    workloads = len(engines)
    default_sd = None
    if spec.throughput.distribution in ("lognormal", "normal") and spec.throughput.sd is None:
        default_sd = np.array([throughput_error_sd(perf_fit, engine)[0] for engine in engines])
    shapes = {"traffic": (n, workloads), "growth": (n, workloads), "tokens": (n, workloads),
              "on_demand_price": (n,), "spot_price": (n,), "api_price": (n, api_models),
              "throughput": (n, workloads)}
    values = {}
    for k, name in enumerate(Uncertainty.QUANTITIES):
        spread: _Spread = getattr(spec, name)
        values[name] = _sample(spread, np.random.default_rng([spec.seed, k]), shapes[name],
                               sd=default_sd if name == "throughput" else None)
    tokens = np.exp(np.round(np.log(values["tokens"]) / TOKEN_GRID_LOG_STEP) * TOKEN_GRID_LOG_STEP)
    return Draws(count=n, traffic=values["traffic"], growth=values["growth"], tokens=tokens,
                 throughput=values["throughput"], on_demand_price=values["on_demand_price"],
                 spot_price=values["spot_price"], api_price=values["api_price"],
                 throughput_sd=tuple(float(x) for x in np.broadcast_to(
                     spec.throughput.sd if spec.throughput.sd is not None
                     else (default_sd if default_sd is not None else 0.0), (workloads,))))

