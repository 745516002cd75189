"""What one replica of a model sustains on one GPU kind under a latency SLO.

The model (see /DESIGN "The models that matter"), per GPU of a tensor-parallel group of t GPUs:

* Memory: weights W/t + KV cache + a fixed runtime reserve must fit in HBM. The KV cache gets
  ``kv_cache_mem_fraction`` of what the weights and reserve leave (TensorRT-LLM's
  ``kv_cache_free_gpu_mem_fraction``). A request holds KV for its whole input + output
  (the engine admits a request only when its full context fits: no eviction).
* Continuous batching, steady state: B requests decode together; each iteration emits one token
  for each of them and, on average, runs the prefill of B/O newly admitted requests (O output
  tokens per request), so prefill and decode share the GPU. An iteration takes

      max(bytes read / (BW·η_bw),  FLOPs / (FLOPS·η_f))  +  tensor-parallel all-reduces

  bytes read = W/t + B·C·kv_bytes_per_token/t (C = mean context while decoding, I + (O+1)/2);
  FLOPs = B·(2·P_active + 4·L·H·d·C)/t + (B/O)·(2·P_active·I + 2·L·H·d·I²)/t;
  all-reduce: 2 per layer over the tokens of the iteration, ring algorithm at half the
  marketed (bidirectional) link bandwidth times η_link, plus a fixed latency per call.
* TPOT is the iteration time; TTFT is one iteration of waiting plus the iteration that carries
  the request's prefill (together with max(1, B/O) prefills). Throughput = B / iteration.
* With an SLO, B is the largest batch whose TPOT and TTFT meet it (both grow with B, and
  B / iteration grows with B, so this is also the highest-throughput point); without one, B is
  limited by KV capacity and the engine's maximum batch.

η ≤ 1 everywhere, so no prediction exceeds the roofline. The η factors are fitted by
bench/perf_fit.py to published TensorRT-LLM measurements and stored, with provenance, in
planner/data/perf_calibration.yaml; the fixed assumptions live in the same file.
A mixture of experts reads all its weights each iteration (at batch ≥ 16 nearly every expert is
hit) but computes with its active parameters only.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from planner.catalog import (
    DATA_DIR,
    GpuSpec,
    ModelSpec,
    load_gpus,
    load_models,
    resolve_gpu,
    resolve_model,
    resolve_precision,
)
from planner.errors import UserError

CALIBRATION_FILE = DATA_DIR / "perf_calibration.yaml"
TPS = (1, 2, 4, 8)
KV_PRECISIONS = ("fp16", "bf16", "fp8")
GIB = 2**30


@dataclass(frozen=True)
class PerfFactors:
    """Fixed assumptions and fitted efficiency factors (planner/data/perf_calibration.yaml)."""

    bytes_per_weight: tuple[tuple[str, float], ...]
    bytes_per_kv: tuple[tuple[str, float], ...]
    default_kv_precision: tuple[tuple[str, str], ...]
    runtime_reserve_gib: float
    kv_cache_mem_fraction: float
    max_batch: int
    allreduce_latency_us: tuple[tuple[str, float], ...]
    factors: tuple[tuple[str, float], ...]  # "eta_bw.<family>", "eta_flops.<fp16|fp8>", "eta_link.<nvlink|pcie>"

    def get(self, table: str, key: str):
        for k, v in getattr(self, table):
            if k == key:
                return v
        raise KeyError(f"{table}: no entry {key!r} in {CALIBRATION_FILE.name}")

    def factor(self, key: str) -> float:
        return float(self.get("factors", key))

    def with_factors(self, values: dict[str, float]) -> "PerfFactors":
        merged = dict(self.factors)
        merged.update(values)
        return PerfFactors(**{**self.__dict__, "factors": tuple(sorted(merged.items()))})


def _pairs(d: dict) -> tuple:
    return tuple(sorted((str(k), v) for k, v in d.items()))


def load_factors(path: str | Path | None = None) -> PerfFactors:
    """Read the assumptions and fitted factors; default planner/data/perf_calibration.yaml."""
    if path is None:
        return _default_factors()
    return _load_factors(Path(path))


def _load_factors(path: Path) -> PerfFactors:
    doc = yaml.safe_load(Path(path).read_text())
    try:
        a = doc["assumptions"]
        return PerfFactors(
            bytes_per_weight=_pairs({k: float(v) for k, v in a["bytes_per_weight"].items()}),
            bytes_per_kv=_pairs({k: float(v) for k, v in a["bytes_per_kv"].items()}),
            default_kv_precision=_pairs(a["default_kv_precision"]),
            runtime_reserve_gib=float(a["runtime_reserve_gib"]),
            kv_cache_mem_fraction=float(a["kv_cache_mem_fraction"]),
            max_batch=int(a["max_batch"]),
            allreduce_latency_us=_pairs({k: float(v) for k, v in a["allreduce_latency_us"].items()}),
            factors=_pairs({k: float(v["value"]) for k, v in doc["factors"].items()}),
        )
    except (KeyError, TypeError) as exc:
        raise UserError(f"malformed calibration file: missing {exc}", file=str(path)) from exc


@functools.lru_cache(maxsize=1)
def _default_factors() -> PerfFactors:
    return _load_factors(CALIBRATION_FILE)


@dataclass(frozen=True)
class ReplicaCapacity:
    """One replica (tp GPUs) of `model` on `gpu` at one operating point.

    When ``fits`` is False, or ``meets_slo`` is False, the replica serves nothing within the SLO:
    max_batch, output_tokens_per_s and requests_per_s are 0 and `reason` says why with the numbers
    and the fix. If the SLO is missed, ttft_ms / tpot_ms are the best achievable (batch 1); if the
    model does not fit they are 0.
    """

    model: str
    gpu: str
    precision: str
    kv_precision: str
    tp: int
    fits: bool
    meets_slo: bool
    max_batch: int
    kv_cache_tokens: int  # KV-cache capacity of the replica, tokens
    output_tokens_per_s: float  # whole replica
    output_tokens_per_s_per_gpu: float
    requests_per_s: float
    ttft_ms: float
    tpot_ms: float
    bound: str  # "memory" | "compute": what limits the decode iteration at max_batch
    weights_gib: float  # all weights of the model at this precision
    memory_gib_per_gpu: float  # HBM of one GPU (weights_gib / tp must fit in it with the KV cache)
    reason: str | None
    input_tokens: int = 0
    output_tokens: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 4)
        return d


@dataclass(frozen=True)
class _Point:
    iteration_s: float
    ttft_s: float
    mem_s: float
    compute_s: float


class _Replica:
    """The constants of one (model, gpu, precision, tp, I, O) case; `point(B)` is the model."""

    def __init__(self, m: ModelSpec, g: GpuSpec, precision: str, kv_precision: str, tp: int,
                 input_tokens: int, output_tokens: int, f: PerfFactors):
        compute_class = "fp8" if precision == "fp8" else "fp16"
        tflops = g.fp8_dense_tflops if compute_class == "fp8" else g.bf16_dense_tflops
        self.flops = tflops * 1e12 * f.factor(f"eta_flops.{compute_class}")
        self.bw = g.hbm_gb_per_s * 1e9 * f.factor(f"eta_bw.{g.family}")
        self.weights_bytes = m.params_b * 1e9 * f.get("bytes_per_weight", precision)
        self.w_gpu = self.weights_bytes / tp
        kv_heads_gpu = math.ceil(m.kv_heads / tp)  # KV heads are replicated when tp > kv_heads
        self.kv_tok_gpu = 2 * m.layers * kv_heads_gpu * m.head_dim * f.get("bytes_per_kv", kv_precision)
        self.kv_tok_replica = 2 * m.layers * m.kv_heads * m.head_dim * f.get("bytes_per_kv", kv_precision)
        I, O = input_tokens, output_tokens
        self.I, self.O = I, O
        self.ctx = I + (O + 1) / 2
        attn = 4 * m.layers * m.attention_heads * m.head_dim  # FLOPs per token per context token
        self.decode_flops = (2 * m.active_params_b * 1e9 + attn * self.ctx) / tp
        self.prefill_flops = (2 * m.active_params_b * 1e9 * I + attn / 2 * I * I) / tp
        if tp > 1:
            link = g.interconnect_gb_per_s / 2 * 1e9 * f.factor(f"eta_link.{g.interconnect}")
            calls = 2 * m.layers
            self.comm_fixed = calls * f.get("allreduce_latency_us", g.interconnect) * 1e-6
            self.comm_per_token = calls * 2 * (tp - 1) / tp * m.hidden_size * 2 / link
        else:
            self.comm_fixed = self.comm_per_token = 0.0
        usable = g.hbm_gib * GIB - f.runtime_reserve_gib * GIB - self.w_gpu
        self.kv_budget_gpu = f.kv_cache_mem_fraction * usable if usable > 0 else 0.0
        self.kv_cache_tokens = int(self.kv_budget_gpu // self.kv_tok_gpu)
        self.batch_kv = self.kv_cache_tokens // (I + O)
        self.batch_max = min(self.batch_kv, f.max_batch)

    def _iteration(self, b: float, prefills: float) -> tuple[float, float, float]:
        mem = (self.w_gpu + b * self.ctx * self.kv_tok_gpu) / self.bw
        comp = (b * self.decode_flops + prefills * self.prefill_flops) / self.flops
        comm = self.comm_fixed + self.comm_per_token * (b + prefills * self.I)
        return max(mem, comp) + comm, mem, comp

    def point(self, b: int) -> _Point:
        it, mem, comp = self._iteration(b, b / self.O)
        with_mine, _, _ = self._iteration(b, max(1.0, b / self.O))
        return _Point(iteration_s=it, ttft_s=it + with_mine, mem_s=mem, compute_s=comp)


def _validate(precision: str, kv_precision: str | None, tp: int, input_tokens: int, output_tokens: int,
              g: GpuSpec, f: PerfFactors) -> str:
    for name, v in (("--input-tokens", input_tokens), ("--output-tokens", output_tokens)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
            raise UserError(f"must be a positive whole number of tokens, not {v!r}", field=name)
    if tp not in TPS:
        raise UserError(f"tensor-parallel degree must be one of {', '.join(map(str, TPS))}, not {tp!r}", field="--tp")
    if precision == "fp8" and g.fp8_dense_tflops is None:
        with_fp8 = [s.name for s in load_gpus().values() if s.fp8_dense_tflops is not None]
        raise UserError(f"{g.name} has no FP8 tensor cores; fp8 runs on {', '.join(with_fp8)} "
                        f"(use bf16/fp16 or int4 on {g.name})", field="--precision")
    if kv_precision is None:
        return f.get("default_kv_precision", precision)
    kv = str(kv_precision).strip().lower()
    if kv not in KV_PRECISIONS:
        raise UserError(f"unknown KV-cache precision {kv_precision!r}; choose one of {', '.join(KV_PRECISIONS)}",
                        field="--kv-precision")
    return kv


def estimate(m: ModelSpec, g: GpuSpec, precision: str, tp: int, input_tokens: int, output_tokens: int,
             ttft_ms: float | None = None, tpot_ms: float | None = None, kv_precision: str | None = None,
             factors: PerfFactors | None = None) -> ReplicaCapacity:
    """The pure model on spec values (tests and the calibration fit hand in their own specs and factors)."""
    f = factors or load_factors()
    if tp in TPS:
        tp = int(tp)
    kv = _validate(precision, kv_precision, tp, input_tokens, output_tokens, g, f)
    for name, v in (("--ttft-ms", ttft_ms), ("--tpot-ms", tpot_ms)):
        if v is not None and not v > 0:
            raise UserError(f"a latency SLO must be a positive number of milliseconds, not {v!r}", field=name)
    input_tokens, output_tokens = int(input_tokens), int(output_tokens)
    r = _Replica(m, g, precision, kv, tp, input_tokens, output_tokens, f)
    base = dict(model=m.id, gpu=g.name, precision=precision, kv_precision=kv, tp=tp,
                kv_cache_tokens=r.kv_cache_tokens, weights_gib=r.weights_bytes / GIB,
                memory_gib_per_gpu=g.hbm_gib, input_tokens=input_tokens, output_tokens=output_tokens)
    zero = dict(max_batch=0, output_tokens_per_s=0.0, output_tokens_per_s_per_gpu=0.0, requests_per_s=0.0)

    ctx = input_tokens + output_tokens
    if ctx > m.context_length or r.batch_max < 1:
        return ReplicaCapacity(**base, **zero, fits=False, meets_slo=False, ttft_ms=0.0, tpot_ms=0.0,
                               bound="memory", reason=_no_fit_reason(m, g, precision, kv, tp, input_tokens,
                                                                     output_tokens, r, f))

    def ok(b: int) -> bool:
        p = r.point(b)
        return ((tpot_ms is None or p.iteration_s * 1e3 <= tpot_ms)
                and (ttft_ms is None or p.ttft_s * 1e3 <= ttft_ms))

    if not ok(1):
        p = r.point(1)
        return ReplicaCapacity(**base, **zero, fits=True, meets_slo=False, ttft_ms=p.ttft_s * 1e3,
                               tpot_ms=p.iteration_s * 1e3, bound="memory" if p.mem_s >= p.compute_s else "compute",
                               reason=_slo_reason(m, g, precision, tp, p, ttft_ms, tpot_ms))
    lo, hi = 1, r.batch_max  # ok(lo) holds; find the largest b <= hi with ok(b)
    if ok(hi):
        lo = hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    b = lo
    p = r.point(b)
    out = b / p.iteration_s
    return ReplicaCapacity(**base, fits=True, meets_slo=True, max_batch=b, output_tokens_per_s=out,
                           output_tokens_per_s_per_gpu=out / tp, requests_per_s=out / output_tokens,
                           ttft_ms=p.ttft_s * 1e3, tpot_ms=p.iteration_s * 1e3,
                           bound="memory" if p.mem_s >= p.compute_s else "compute", reason=None)


def _fits_at(m, g, precision, kv, tp, I, O, f) -> bool:
    if precision == "fp8" and g.fp8_dense_tflops is None:
        return False
    return _Replica(m, g, precision, kv, tp, I, O, f).batch_max >= 1


def _no_fit_reason(m, g, precision, kv, tp, I, O, r: _Replica, f: PerfFactors) -> str:
    if I + O > m.context_length:
        return (f"{I} input + {O} output tokens exceed {m.id}'s context length of {m.context_length} tokens: "
                f"shorten the requests or pick a model with a longer context")
    weights_gb = r.weights_bytes / 1e9
    have = f"{tp} × {g.name} has {tp * g.hbm_gb:.1f} GB"
    fixes = []
    bigger = [t for t in TPS if t > tp and _fits_at(m, g, precision, kv, t, I, O, f)]
    if bigger:
        fixes.append(f"use tp ≥ {bigger[0]}")
    fixes.append("a GPU with more memory")
    for p in ("fp8", "int4"):
        if f.get("bytes_per_weight", p) >= f.get("bytes_per_weight", precision):
            continue
        kv_p = kv if kv != f.get("default_kv_precision", precision) else f.get("default_kv_precision", p)
        fit_tps = [t for t in TPS if t >= tp and _fits_at(m, g, p, kv_p, t, I, O, f)]
        if fit_tps:
            fixes.append(f"{p} (fits at tp {fit_tps[0]})")
    if not bigger:
        fixes.append(f"no tp up to 8 holds it at {precision} (multi-instance serving is not modelled)")
    if r.w_gpu + f.runtime_reserve_gib * GIB >= g.hbm_gib * GIB:
        what = (f"{m.id} {precision} needs {weights_gb:.1f} GB of weights; {have} "
                f"(minus {f.runtime_reserve_gib:g} GiB runtime reserve per GPU)")
    else:
        kv_need_gib = r.kv_tok_gpu * (I + O) / GIB
        what = (f"{m.id} {precision} weights ({weights_gb:.1f} GB) fit on {tp} × {g.name} ({tp * g.hbm_gb:.1f} GB) "
                f"but leave {r.kv_budget_gpu / GIB:.2f} GiB of KV cache per GPU, less than the "
                f"{kv_need_gib:.2f} GiB one request of {I + O} tokens needs")
    return f"{what}: {', '.join(fixes)}"


def _slo_reason(m, g, precision, tp, p: _Point, ttft_ms, tpot_ms) -> str:
    parts = []
    if tpot_ms is not None and p.iteration_s * 1e3 > tpot_ms:
        got = p.iteration_s * 1e3
        parts.append(f"TPOT is {got:.1f} ms even at batch 1, {got / tpot_ms - 1:.0%} over the {tpot_ms:g} ms SLO")
    if ttft_ms is not None and p.ttft_s * 1e3 > ttft_ms:
        got = p.ttft_s * 1e3
        parts.append(f"TTFT is {got:.1f} ms even at batch 1, {got / ttft_ms - 1:.0%} over the {ttft_ms:g} ms SLO")
    fix = "a higher tp, a faster GPU or a lower precision" + (" or shorter inputs" if ttft_ms is not None else "")
    return f"{m.id} {precision} on {tp} × {g.name} cannot meet the SLO: {'; '.join(parts)}: try {fix}"


@functools.lru_cache(maxsize=65536)
def capacity(model: str, gpu: str, precision: str, tp: int, input_tokens: int, output_tokens: int,
             ttft_ms: float | None = None, tpot_ms: float | None = None,
             kv_precision: str | None = None) -> ReplicaCapacity:
    """What one replica sustains. Never raises for "does not fit" or "SLO unreachable" (see `reason`);
    raises UserError for unknown names, non-positive tokens, a tp outside 1/2/4/8 or fp8 on a GPU without FP8."""
    m = load_models()[resolve_model(model)]
    g = load_gpus()[resolve_gpu(gpu)]
    return estimate(m, g, resolve_precision(precision), tp, input_tokens, output_tokens,
                    ttft_ms=ttft_ms, tpot_ms=tpot_ms, kv_precision=kv_precision)


def capacities(model, gpu, precision, input_tokens, output_tokens, ttft_ms=None, tpot_ms=None,
               kv_precision=None, tps=TPS) -> list[ReplicaCapacity]:
    return [capacity(model, gpu, precision, tp, input_tokens, output_tokens, ttft_ms, tpot_ms, kv_precision)
            for tp in tps]


def best(model, gpu, precision, input_tokens, output_tokens, ttft_ms=None, tpot_ms=None,
         kv_precision=None, tps=TPS) -> ReplicaCapacity | None:
    """The highest output tokens/s per GPU among the TPs that fit and meet the SLO (ties: smaller tp)."""
    ok = [c for c in capacities(model, gpu, precision, input_tokens, output_tokens, ttft_ms, tpot_ms,
                                kv_precision, tps) if c.fits and c.meets_slo]
    return max(ok, key=lambda c: (c.output_tokens_per_s_per_gpu, -c.tp)) if ok else None


def weights_gib(model: str, precision: str) -> float:
    """Size of a model's weights at `precision`, in GiB (what the disk and the GPUs must hold)."""
    spec = load_models()[resolve_model(model)]
    return spec.params_b * 1e9 * load_factors().get("bytes_per_weight", resolve_precision(precision)) / GIB
