"""What the fleet search computes once and shares between the variants of one forecast.

A forecast sizes its fleet many times: the base case, 2 scenarios, 10 sensitivity variants and,
with `uncertainty`, every Monte Carlo draw. Most of what each sizing computes depends on few of the
plan's values, so a `Memo` keeps it, keyed on exactly those values:

- **priced offers**, keyed on the plan's regions, GPU kinds, reserved discounts and spot basis;
- **candidates** (and why the others do not serve), keyed on the model, the catalogs and
  calibration, the engine, the precisions, the rounded token counts, the SLO (limits and
  percentile), the allowed purchase options,
  the price multipliers and the priced offers' values: everything `candidates` reads;
- **cost tables and exact purchase mixes**, keyed on the bytes of the arrays they are computed
  from (instances needed per month and hour level, floors, hours per level), the rates and the
  spot share and overhead. The rates are divided by the on-demand rate (or the highest) first:
  scaling every rate by one factor scales every mix's cost and changes no choice, so a variant
  that only moves GPU prices reuses the solutions and multiplies their cost.

One `Memo` serves one price table (`planner.inputs.Inputs.price_table`); it holds no state
between forecasts. A memo is a plain value passed in, never a module global.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from planner.fleet.mix import CostTable, MixSolution, cost_table, solve_mix
from planner.fleet.model import Candidate
from pricing.terms import Purchase

MAX_MIX_ENTRIES = 50_000  # cost tables kept (each a few kB); the oldest half is dropped when full


@dataclass(frozen=True)
class CandidateArrays:
    """A candidate list as arrays, for bounding every candidate at once (`planner.fleet.size.quick_bounds`;
    `Memo.arrays` keeps one per list)."""

    requests_per_s: np.ndarray  # [c] per instance
    replicas_per_instance: np.ndarray  # [c]
    rates: dict[Purchase, np.ndarray]  # option -> [c] USD per hour, inf where not offered
    order: np.ndarray  # [c] rank by (region, instance type, TP): the last tie-break
    regions: tuple[str, ...]

    def groups(self, floor_of) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidates with the same capacity per instance and floor share a need array: (group of
        each candidate [c], capacity per instance [g], floor [g]). `floor_of(replicas per
        instance)` gives the floor; the grouping is kept per distinct set of floors."""
        per = {int(r): floor_of(int(r)) for r in np.unique(self.replicas_per_instance)}
        key = tuple(sorted(per.items()))
        cache = self.__dict__.setdefault("_groups", {})
        if key not in cache:
            floors = np.array([per[int(r)] for r in self.replicas_per_instance])
            keys, group = np.unique(np.stack([self.requests_per_s, floors]), axis=1, return_inverse=True)
            cache[key] = (group.ravel(), keys[0], keys[1].astype(int))
        return cache[key]

    @classmethod
    def of(cls, cands: list[Candidate]) -> "CandidateArrays":
        rates = {o: np.array([c.usd_per_hour.get(o, np.inf) for c in cands]) for o in Purchase}
        keys = sorted(range(len(cands)), key=lambda i: (cands[i].region, cands[i].instance_type, cands[i].tp))
        order = np.empty(len(cands), dtype=int)
        order[keys] = np.arange(len(cands))
        return cls(requests_per_s=np.array([c.requests_per_s for c in cands]),
                   replicas_per_instance=np.array([c.replicas_per_instance for c in cands]),
                   rates=rates, order=order, regions=tuple(c.region for c in cands))


@dataclass
class MixEntry:
    """One purchase-mix problem in normalised rates: its table, its bound and, once solved, its mix."""

    need: np.ndarray
    floors: np.ndarray
    weights: np.ndarray
    rates: dict[Purchase, float]  # normalised
    max_spot_share: float
    spot_overhead: float
    table: CostTable
    bound: float  # normalised
    solution: MixSolution | None = None  # normalised cost


@dataclass(frozen=True)
class Mix:
    """A purchase-mix problem at its own price level: a normalised entry and the scale to USD."""

    entry: MixEntry
    scale: float  # USD per normalised unit

    @property
    def bound_usd(self) -> float:
        return self.entry.bound * self.scale


@dataclass
class Memo:
    price_table: object = None  # the table the offers were priced from (checked, never mixed)
    _offers: dict = field(default_factory=dict)
    _candidates: dict = field(default_factory=dict)
    _capacities: dict = field(default_factory=dict)  # sized key -> {(GPU kind, TP): capacity}
    _gpu_keys: dict = field(default_factory=dict)
    _arrays: dict = field(default_factory=dict)  # id(candidate list) -> (list, arrays): the list is kept alive
    _mix: dict = field(default_factory=dict)
    _priced_keys: dict = field(default_factory=dict)  # id(list) -> (list, key): the list is kept alive

    # --- offers and candidates --------------------------------------------------------------

    def offers(self, plan, table):
        """`planner.fleet.offers(plan, table)`, once per (regions, GPU kinds, discounts)."""
        from planner.fleet.candidates import offers, reserved_discounts

        if self.price_table is None:
            self.price_table = table
        elif self.price_table is not table:
            raise ValueError("a Memo serves one price table")
        key = (tuple(plan.constraints.regions), tuple(plan.constraints.gpus or ()), reserved_discounts(plan),
               plan.pricing.spot_basis)
        if key not in self._offers:
            self._offers[key] = offers(plan, table)
            self._priced_keys[id(self._offers[key])] = (self._offers[key], ("offers", key))
        return self._offers[key]

    def _priced_key(self, priced) -> tuple:
        known = self._priced_keys.get(id(priced))
        if known is not None and known[0] is priced:
            return known[1]
        key = ("values", tuple((po.offer, tuple(sorted(po.usd_per_hour.items())), po.assumed, po.source, po.date)
                               for po in priced))
        self._priced_keys[id(priced)] = (priced, key)
        return key

    def candidates(self, plan, workload, priced, model, gpus, factors, *, input_tokens: float | None = None,
                   output_tokens: float | None = None):
        """`planner.fleet.candidates(...)`, once per distinct value of what it reads. Token counts
        other than the workload's own may be given (a Monte Carlo draw's)."""
        from planner.fleet.candidates import candidates

        t = workload.traffic
        tokens_in = t.input_tokens if input_tokens is None else input_tokens
        tokens_out = t.output_tokens if output_tokens is None else output_tokens
        sized = (model, self._catalog_key(gpus), factors, workload.engine, workload.precision, workload.kv_precision,
                 round(tokens_in), round(tokens_out), workload.slo.ttft_ms, workload.slo.tpot_ms,
                 workload.slo.percentile)
        key = (sized, tuple(plan.constraints.purchase), plan.pricing.compute_price_multiplier,
               plan.pricing.spot_price_multiplier, self._priced_key(priced))
        hit = self._candidates.get(key)
        if hit is None:
            if input_tokens is not None or output_tokens is not None:
                traffic = t.model_copy(update={"input_tokens": float(tokens_in), "output_tokens": float(tokens_out)})
                workload = workload.model_copy(update={"traffic": traffic})
            hit = self._candidates[key] = candidates(plan, workload, priced, model, gpus, factors,
                                                     capacities=self._capacities.setdefault(sized, {}))
        return hit

    def _catalog_key(self, gpus) -> tuple:
        known = self._gpu_keys.get(id(gpus))
        if known is not None and known[0] is gpus:
            return known[1]
        key = tuple(sorted(gpus.items()))
        self._gpu_keys[id(gpus)] = (gpus, key)
        return key

    def arrays(self, cands):
        """`planner.fleet.size.CandidateArrays` of a candidate list (kept with the list)."""
        known = self._arrays.get(id(cands))
        if known is None or known[0] is not cands:
            known = self._arrays[id(cands)] = (cands, CandidateArrays.of(cands))
        return known[1]

    # --- purchase mixes ---------------------------------------------------------------------

    def mix(self, need: np.ndarray, floors: np.ndarray, weights: np.ndarray, usd_per_hour: dict[Purchase, float],
            max_spot_share: float, spot_overhead: float) -> Mix:
        """The cost table of one purchase-mix problem (and its bound), computed once."""
        scale = usd_per_hour.get(Purchase.ON_DEMAND) or max(usd_per_hour.values())
        rates = tuple(sorted((o, r / scale) for o, r in usd_per_hour.items()))
        need = np.asarray(need, dtype=np.int64)
        floors = np.asarray(floors, dtype=np.int64)
        weights = np.asarray(weights, dtype=float)
        key = (need.shape, need.tobytes(), floors.tobytes(), weights.tobytes(), rates, float(max_spot_share),
               float(spot_overhead))
        entry = self._mix.get(key)
        if entry is None:
            if len(self._mix) >= MAX_MIX_ENTRIES:
                for old in list(self._mix)[: MAX_MIX_ENTRIES // 2]:
                    del self._mix[old]
            normalised = dict(rates)
            table = cost_table(need, floors, weights, normalised, max_spot_share, spot_overhead)
            entry = self._mix[key] = MixEntry(need=need, floors=floors, weights=weights, rates=normalised,
                                              max_spot_share=max_spot_share, spot_overhead=spot_overhead,
                                              table=table, bound=table.lower_bound_usd(normalised))
        return Mix(entry=entry, scale=scale)

    def solve(self, mix: Mix) -> MixSolution:
        """The exact purchase mix of `mix`'s problem, its cost in USD."""
        e = mix.entry
        if e.solution is None:
            e.solution = solve_mix(e.need, e.floors, e.weights, e.rates, e.max_spot_share, e.spot_overhead,
                                   table=e.table)
        return replace(e.solution, cost_usd=e.solution.cost_usd * mix.scale)
