"""What one replica of a model sustains on one GPU kind, per engine, under a latency SLO.

The model, per GPU of a tensor-parallel group of t GPUs (planner/data/perf_calibration.yaml
holds every fixed assumption and fitted factor, with its reason):

* Memory: weights W/t + KV cache + a runtime reserve fit in HBM. The KV cache gets what the
  engine's memory setting leaves: vLLM and SGLang take a share of all HBM (gpu_memory_utilization,
  mem_fraction_static) and hold weights and runtime in it; TensorRT-LLM a share of the memory the
  weights leave (kv_cache_free_gpu_memory_fraction). A mixture of experts holds every
  expert. MLA (DeepSeek) caches one latent of kv_lora_rank + rope dims per token and layer
  (replicated on each TP rank); local-attention layers (sliding window, Llama 4 chunks) cache at
  most their window. What a request holds depends on the engine's admission: TensorRT-LLM
  reserves its whole input + output up front; vLLM and SGLang page the cache on demand, so a
  request holds input + output/2 on average.
* One engine step (continuous batching, B sequences decoding, n prefill tokens riding along in
  the chunked-prefill budget) takes

      T_step(B, n) = overhead_e + max(bytes / (BW·η_bw·e_bw), FLOPs / (FLOPS·η_f·e_f)) + all-reduce

  bytes = weights the step touches (dense part + the experts the B + n tokens route to:
  E·(1 − (1 − k/E)^tokens)) + B × the KV cache of one sequence read at a lower efficiency η_kv;
  FLOPs = B·(2·P_active + attention over the context) + n·(2·P_active + attention over the
  prompt); overhead_e = layers × a per-layer launch/scheduling cost fitted per engine: the
  latency-bound regime at batch 1..few. e_bw and e_f are the engine's bandwidth (resp. FLOPS) efficiency
  relative to the pooled fit (engine_bw_eff, engine_flops_eff).
* Open loop (Poisson arrivals at λ per replica), parametrised by b, the requests decoding (time
  average). An arrival finds the others at their time average (PASTA), so its steps run a batch of
  1 + b; in steady state each step also carries the prefill tokens that arrive meanwhile,
  λ·I·T = b·I/O (chunked prefill spreads them; the chunk budget bounds them), so
  TPOT = T_step(1 + b, b·I/O) and λ = b / (O·TPOT) (Little's law). Over a request's life the
  batch it shares is a time-averaged M/G/∞ occupancy (variance 2/3·b) and the prefills that
  interrupt it are the ~b arrivals during its life (covariance b/2 with the batch); a normal
  approximation of that spread gives the TPOT percentile. TTFT = half a step (the step in flight)
  + waiting in the prefill queue + the steps that carry its own chunks; the queue is M/D/1 with
  utilisation ρ = (b·I/O)/chunk and service (I/chunk)·T, and its waiting-time tail
  P(W > w) ≈ ρ·exp(−2(1−ρ)w/S) (the exponential M/G/1 approximation).
* `capacity` with an SLO: the highest λ whose SLO-percentile TTFT and TPOT meet the targets,
  with the batch at that percentile within the KV cache and max_num_seqs: a self-consistent
  capacity independent of the fleet's load. Without an SLO: the saturated throughput (batch at
  the KV/engine cap, or prefill-bound when ρ reaches 1).
* `operating_point`: a closed loop of N requests in flight (how published sweeps are measured):
  N = d + λ·TTFT solved for d, the requests decoding; steps run a batch of max(1, d).

Every efficiency product η·e is clipped at 1, so no prediction exceeds the roofline.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import yaml

from planner.catalog import (
    DATA_DIR,
    PRECISIONS,
    GpuSpec,
    ModelSpec,
    load_gpus,
    load_models,
    resolve_gpu,
    resolve_model,
    resolve_precision,
)
from planner.errors import UserError, did_you_mean

CALIBRATION_FILE = DATA_DIR / "perf_calibration.yaml"
ENGINES = ("vllm", "sglang", "trtllm")
PERCENTILES = ("p50", "p90", "p99")
Z = {"p50": 0.0, "p90": 1.2816, "p99": 2.3263}  # standard normal quantiles
TPS = (1, 2, 4, 8)
KV_PRECISIONS = ("fp16", "bf16", "fp8")
GIB = 2**30
FP8_FAMILIES = ("Hopper (H100, H200)", "Blackwell (B200)", "Ada (L40S, L4)")


@dataclass(frozen=True)
class PerfFactors:
    """Fixed assumptions and fitted factors (planner/data/perf_calibration.yaml); hashable."""

    bytes_per_weight: tuple[tuple[str, float], ...]
    bytes_per_kv: tuple[tuple[str, float], ...]
    default_kv_precision: tuple[tuple[str, str], ...]
    runtime_reserve_gib: float
    engine_memory_fraction: tuple[tuple[str, float], ...]  # the engine's memory setting (see basis)
    engine_memory_basis: tuple[tuple[str, str], ...]  # "total": of all HBM; "free": of what weights leave
    allreduce_latency_us: tuple[tuple[str, float], ...]
    engine_max_num_seqs: tuple[tuple[str, int], ...]
    engine_chunk_tokens: tuple[tuple[str, int], ...]
    engine_kv_admission: tuple[tuple[str, str], ...]  # "reserve" (input+output) | "paged" (input+output/2)
    mxfp4_compute: tuple[tuple[str, str], ...]  # GPU family -> compute class of MXFP4 experts
    mxfp4_engine_families: tuple[tuple[str, str], ...]  # engine -> comma-separated GPU families
    factors: tuple[tuple[str, float], ...]

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
        return replace(self, factors=tuple(sorted(merged.items())))


def _pairs(d: dict) -> tuple:
    return tuple(sorted((str(k), v) for k, v in d.items()))


def factors_from_assumptions(a: dict, factors: dict[str, float]) -> PerfFactors:
    return PerfFactors(
        bytes_per_weight=_pairs({k: float(v) for k, v in a["bytes_per_weight"].items()}),
        bytes_per_kv=_pairs({k: float(v) for k, v in a["bytes_per_kv"].items()}),
        default_kv_precision=_pairs(a["default_kv_precision"]),
        runtime_reserve_gib=float(a["runtime_reserve_gib"]),
        engine_memory_fraction=_pairs({k: float(v) for k, v in a["engine_memory_fraction"].items()}),
        engine_memory_basis=_pairs(a["engine_memory_basis"]),
        allreduce_latency_us=_pairs({k: float(v) for k, v in a["allreduce_latency_us"].items()}),
        engine_max_num_seqs=_pairs({k: int(v) for k, v in a["engine_max_num_seqs"].items()}),
        engine_chunk_tokens=_pairs({k: int(v) for k, v in a["engine_chunk_tokens"].items()}),
        engine_kv_admission=_pairs(a["engine_kv_admission"]),
        mxfp4_compute=_pairs(a["mxfp4_compute"]),
        mxfp4_engine_families=_pairs({k: ",".join(v) for k, v in a["mxfp4_engine_families"].items()}),
        factors=_pairs({k: float(v) for k, v in factors.items()}),
    )


def load_factors(path: str | Path | None = None) -> PerfFactors:
    """Read the assumptions and fitted factors; default planner/data/perf_calibration.yaml."""
    if path is None:
        return _default_factors()
    return _load_factors(Path(path))


def _load_factors(path: Path) -> PerfFactors:
    doc = yaml.safe_load(Path(path).read_text())
    try:
        return factors_from_assumptions(doc["assumptions"], {k: v["value"] for k, v in doc["factors"].items()})
    except (KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"malformed calibration file: missing {exc}", file=str(path)) from exc


@functools.lru_cache(maxsize=1)
def _default_factors() -> PerfFactors:
    return _load_factors(CALIBRATION_FILE)


def fit_quality(engine: str, path: str | Path | None = None) -> dict:
    """The fit figures recorded for `engine` (perf_calibration.yaml `fit_quality.<engine>`)."""
    return dict(_fit_quality_table(str(path or CALIBRATION_FILE)).get(engine) or {})


@functools.lru_cache(maxsize=4)
def _fit_quality_table(path: str) -> dict:
    doc = yaml.safe_load(Path(path).read_text()) or {}
    return doc.get("fit_quality") or {}


def fit_summary(engine: str, quality: dict | None = None) -> str:
    """One line for a report's assumptions: how well the model meets measurements for `engine`
    (`quality`: that engine's `fit_quality` figures, as `planner.inputs.Inputs.perf_fit[engine]`;
    default: the shipped calibration file's)."""
    q = fit_quality(engine) if quality is None else quality
    if not q:
        return f"{engine}: no fit figures recorded"

    def g(k):
        v = q.get(k)
        return "n/a" if v is None else f"{v:g} %"
    return (f"{engine}: leave-one-source-out median |error| {g('loso_max_throughput_median_pct')} on maximum "
            f"throughput, {g('loso_operating_point_throughput_median_pct')} throughput and "
            f"{g('loso_operating_point_tpot_median_pct')} TPOT at measured concurrency, "
            f"{g('loso_slo_capacity_median_pct')} on capacity under an SLO at 1.1x measured latency "
            f"({g('loso_slo_capacity_vs_sweep_bracket_median_pct')} against the range the measured sweep "
            f"brackets); {q.get('rows', '?')} rows from {q.get('sources', '?')} sources (BENCHMARKS.md)")


@dataclass(frozen=True)
class ReplicaCapacity:
    """One replica (tp GPUs) of `model` on `gpu` served by `engine`, at one operating point.

    When ``fits`` or ``meets_slo`` is False the replica serves nothing within the SLO: max_batch,
    output_tokens_per_s and requests_per_s are 0 and `reason` says why, with the numbers and the
    fix. If the SLO is missed, ttft_ms / tpot_ms are the best achievable (light load).
    ``max_batch`` is the batch the sizing assumed: the stack starts the engine with it as
    max_num_seqs (vLLM), max_running_requests (SGLang) or max_batch_size (TensorRT-LLM).
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
    ttft_ms: float  # at the SLO percentile (queueing included); mean in an operating point
    tpot_ms: float
    bound: str  # "memory" | "compute": what limits the decode step at this point
    weights_gib: float  # all weights of the model at this precision (every expert)
    memory_gib_per_gpu: float
    reason: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    engine: str = "vllm"
    percentile: str = "p90"
    chunked_prefill: bool = True
    max_num_batched_tokens: int = 0  # the chunked-prefill token budget per step the model assumed
    concurrency: int | None = None  # set for a closed-loop operating point

    def to_dict(self) -> dict:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 4)
        return d


# --- precision support -----------------------------------------------------------------------

def precision_support(gpu: GpuSpec, precision: str, model: ModelSpec | None = None,
                      engine: str | None = None, factors: PerfFactors | None = None) -> str | None:
    """None when `gpu` (and `engine`, `model` if given) can serve `precision`; else one line saying
    why, naming both, and what would admit it."""
    if precision == "fp8" and gpu.fp8_dense_tflops is None:
        return (f"{gpu.name} has no FP8 tensor cores, so fp8 weights are not served on it: use bf16 or int4 "
                f"on {gpu.name}, or a GPU with FP8 ({', '.join(FP8_FAMILIES)})")
    if precision == "mxfp4":
        if model is not None and model.weight_format != "mxfp4":
            return (f"mxfp4 is a checkpoint format (gpt-oss ships in it); {model.id} has no MXFP4 checkpoint: "
                    f"use bf16, fp8 or int4 for {model.id}")
        if engine is not None:
            f = factors or load_factors()
            fams = f.get("mxfp4_engine_families", engine).split(",")
            if gpu.family not in fams:
                return (f"{engine} serves MXFP4 weights on {', '.join(fams)} GPUs only, not on {gpu.name} "
                        f"({gpu.family}): use vllm on {gpu.name}, or bf16 weights")
    return None


def weights_gib(model: ModelSpec | str, precision: str, factors: PerfFactors | None = None) -> float:
    """All weights at `precision` (every expert of a MoE), GiB: what the disk and the GPUs hold.

    MXFP4 (gpt-oss) quantises the routed experts only; attention, router, embeddings stay bf16.
    A model name is accepted for the callers that still pass one (resolved in the shipped catalog).
    """
    spec = model if isinstance(model, ModelSpec) else load_models()[resolve_model(model)]
    return _weights_bytes(spec, resolve_precision(precision), factors or load_factors()) / GIB


def _weights_bytes(m: ModelSpec, precision: str, f: PerfFactors) -> float:
    if precision == "mxfp4":
        return (m.expert_params_b * f.get("bytes_per_weight", "mxfp4")
                + (m.params_b - m.expert_params_b) * f.get("bytes_per_weight", "bf16")) * 1e9
    return m.params_b * 1e9 * f.get("bytes_per_weight", precision)


# --- the step model ----------------------------------------------------------------------------

@dataclass(slots=True)
class _Open:  # built ~45 times per estimate: slots, not frozen (cheaper to build)
    b: float  # mean decode batch
    lam: float  # requests/s
    t_dec: float  # step time with no prefill, s
    tpot_mean: float
    tpot_p: float
    ttft_mean: float
    ttft_p: float
    rho: float
    batch_p: float
    mem_s: float
    compute_s: float
    own_s: float  # from the start of its prefill to its first token
    s_q: float  # time one request occupies the prefill channel


class _Replica:
    """The constants of one (model, gpu, precision, tp, engine, I, O) case."""

    def __init__(self, m: ModelSpec, g: GpuSpec, precision: str, kv_precision: str, tp: int,
                 input_tokens: int, output_tokens: int, engine: str, f: PerfFactors):
        self.m, self.g, self.tp, self.f = m, g, tp, f
        if precision == "fp8":
            compute_class = "fp8"
        elif precision == "mxfp4":
            compute_class = f.get("mxfp4_compute", g.family)
        else:
            compute_class = "fp16"
        tflops = g.fp8_dense_tflops if compute_class == "fp8" else g.bf16_dense_tflops
        try:  # a per-family FLOPS factor where the calibration has one, else the precision's
            eta_f = f.factor(f"eta_flops.{compute_class}.{g.family}")
        except KeyError:
            eta_f = f.factor(f"eta_flops.{compute_class}")
        self.flops = tflops * 1e12 * min(1.0, eta_f * _engine_factor(f, "engine_flops_eff", engine))
        self.bw = g.hbm_gb_per_s * 1e9 * min(1.0, f.factor(f"eta_bw.{g.family}")
                                             * _engine_factor(f, "engine_bw_eff", engine))
        self.bw_kv = self.bw * f.factor("eta_kv")
        self.overhead = m.layers * _engine_factor(f, "overhead_us_per_layer", engine) * 1e-6
        self.weights_bytes = _weights_bytes(m, precision, f)
        w_exp = 0.0
        if m.is_moe:  # routed experts at the checkpoint's precision (MXFP4: the experts only)
            w_exp = m.expert_params_b * 1e9 * f.get("bytes_per_weight", precision)
        self.w_exp_gpu = w_exp / tp
        self.w_gpu = self.weights_bytes / tp
        self.w_dense_gpu = self.w_gpu - self.w_exp_gpu
        self.route = (1.0 - m.experts_per_token / m.experts) if m.is_moe else 1.0
        kvb = f.get("bytes_per_kv", kv_precision)
        if m.is_mla:  # one latent per token and layer, replicated on every TP rank
            self.kv_layer_gpu = (m.kv_lora_rank + m.qk_rope_head_dim) * kvb
            self.kv_layer_replica = self.kv_layer_gpu
        else:  # KV heads are split over the ranks (replicated when tp > kv_heads)
            self.kv_layer_gpu = 2 * math.ceil(m.kv_heads / tp) * m.head_dim * kvb
            self.kv_layer_replica = 2 * m.kv_heads * m.head_dim * kvb
        self.full_layers = m.layers - m.local_layers
        I, O = input_tokens, output_tokens
        self.I, self.O = I, O
        self.ctx = I + O / 2  # mean context while decoding
        self.attn = 4 * m.attention_heads * m.head_dim  # FLOPs per token per context token per layer
        self.decode_flops = (2 * m.active_params_b * 1e9 + self.attn * self._ctx_layers(self.ctx)) / tp
        self.prefill_flops = (2 * m.active_params_b * 1e9 + self.attn * self._ctx_layers(I / 2)) / tp
        self.kv_read_seq = self._ctx_layers(self.ctx) * self.kv_layer_gpu  # bytes one sequence's step reads
        if tp > 1:
            link = g.interconnect_gb_per_s / 2 * 1e9 * f.factor(f"eta_link.{g.interconnect}")
            calls = 2 * m.layers
            self.comm_fixed = calls * f.get("allreduce_latency_us", g.interconnect) * 1e-6
            self.comm_per_token = calls * 2 * (tp - 1) / tp * m.hidden_size * 2 / link
        else:
            self.comm_fixed = self.comm_per_token = 0.0
        frac = float(_engine_table(f, "engine_memory_fraction", engine))
        if _engine_table(f, "engine_memory_basis", engine) == "total":  # vLLM, SGLang: a share of all HBM
            budget = frac * g.hbm_gib * GIB - self.w_gpu - f.runtime_reserve_gib * GIB
        else:  # TensorRT-LLM: a share of what weights and runtime leave
            budget = frac * (g.hbm_gib * GIB - f.runtime_reserve_gib * GIB - self.w_gpu)
        self.kv_budget_gpu = max(budget, 0.0)
        self.kv_cache_tokens = int(self.kv_budget_gpu // (m.layers * self.kv_layer_gpu))
        held = I + O if _engine_table(f, "engine_kv_admission", engine) == "reserve" else I + O / 2
        self.kv_req_gpu = self._ctx_layers(held) * self.kv_layer_gpu
        self.kv_full_req_gpu = self._ctx_layers(I + O) * self.kv_layer_gpu
        self.batch_kv = int(self.kv_budget_gpu // self.kv_req_gpu) if self.kv_full_req_gpu <= self.kv_budget_gpu else 0
        self.max_num_seqs = int(_engine_table(f, "engine_max_num_seqs", engine))
        self.batch_cap = min(self.batch_kv, self.max_num_seqs)
        self.chunk = int(_engine_table(f, "engine_chunk_tokens", engine))
        self.n_chunks = math.ceil(I / self.chunk)
        self.n_pf = min(I, self.chunk)

    def _ctx_layers(self, c: float) -> float:
        """Σ over layers of the context each layer attends to (local layers stop at their window)."""
        m = self.m
        return self.full_layers * c + m.local_layers * min(c, m.local_window or c)

    def step(self, b: float, n: float = 0.0) -> tuple[float, float, float]:
        tokens = b + n
        touched = self.w_dense_gpu + (self.w_exp_gpu * (1.0 - self.route ** tokens) if self.w_exp_gpu else 0.0)
        mem = touched / self.bw + b * self.kv_read_seq / self.bw_kv
        comp = (b * self.decode_flops + n * self.prefill_flops) / self.flops
        comm = self.comm_fixed + self.comm_per_token * tokens
        return self.overhead + max(mem, comp) + comm, mem, comp

    def open(self, b: float, z: float, p: float) -> _Open:
        """Poisson arrivals with `b` requests decoding on average (time average). A request shares its
        steps with itself and the others in flight, which an arrival finds at their time average
        (PASTA / M/G/∞): its steps run a batch of 1 + b. In steady state the prefill tokens that ride
        along each step are λ·I·T = b·I/O (chunked prefill spreads them; the chunk budget bounds them)."""
        # the four steps below are `step` written out (the same arithmetic in the same order: this
        # runs ~45 times per capacity estimate, and the calls were most of its time)
        w_dense, w_exp, route = self.w_dense_gpu, self.w_exp_gpu, self.route
        bw, kv_read, bw_kv = self.bw, self.kv_read_seq, self.bw_kv
        dec, pre, flops = self.decode_flops, self.prefill_flops, self.flops
        comm_fixed, comm_per_token, overhead = self.comm_fixed, self.comm_per_token, self.overhead
        I, O = self.I, self.O
        shared = min(1.0 + b, float(self.batch_cap))
        n = b * I / O
        tokens = shared + n  # step(shared, n)
        mem = (w_dense + (w_exp * (1.0 - route ** tokens) if w_exp else 0.0)) / bw + shared * kv_read / bw_kv
        comp = (shared * dec + n * pre) / flops
        t = overhead + (comp if comp > mem else mem) + (comm_fixed + comm_per_token * tokens)
        n_chunk = n + self.n_pf  # step(shared, n + n_pf): a step that also carries one prefill chunk
        tokens = shared + n_chunk
        mem_c = (w_dense + (w_exp * (1.0 - route ** tokens) if w_exp else 0.0)) / bw + shared * kv_read / bw_kv
        comp_c = (shared * dec + n_chunk * pre) / flops
        with_chunk = overhead + (comp_c if comp_c > mem_c else mem_c) + (comm_fixed + comm_per_token * tokens)
        lam = b / (O * t)
        up = shared + 0.5  # step(shared + 0.5, n)
        tokens = up + n
        mem_u = (w_dense + (w_exp * (1.0 - route ** tokens) if w_exp else 0.0)) / bw + up * kv_read / bw_kv
        comp_u = (up * dec + n * pre) / flops
        t_up = overhead + (comp_u if comp_u > mem_u else mem_u) + (comm_fixed + comm_per_token * tokens)
        down = max(shared - 0.5, 1.0)  # step(max(shared − 0.5, 1), n)
        tokens = down + n
        mem_d = (w_dense + (w_exp * (1.0 - route ** tokens) if w_exp else 0.0)) / bw + down * kv_read / bw_kv
        comp_d = (down * dec + n * pre) / flops
        t_down = overhead + (comp_d if comp_d > mem_d else mem_d) + (comm_fixed + comm_per_token * tokens)
        b1 = t_up - t_down
        b1 /= (shared + 0.5 - max(shared - 0.5, 1.0))
        b2 = (with_chunk - t) / float(self.n_pf) * I / O  # seconds one more prefill token adds to a step
        sd = math.sqrt(max(b, 0.0) * (b1 * b1 * 2 / 3 + b2 * b2 + b1 * b2))
        rho = n / self.chunk
        s_q = self.I / self.chunk * t
        own = self.n_chunks * with_chunk  # the steps that carry its own chunks
        if rho < 1:
            m_w = s_q / (2 * (1 - rho))
            w_mean = rho * m_w
            w_p = m_w * math.log(rho / (1 - p)) if rho > 1 - p else 0.0
        else:
            w_mean = w_p = math.inf
        return _Open(b=b, lam=lam, t_dec=t, tpot_mean=t, tpot_p=t + z * sd, ttft_mean=t / 2 + w_mean + own,
                     ttft_p=p * t + w_p + own, rho=rho, batch_p=b + z * math.sqrt(b), mem_s=mem,
                     compute_s=comp, own_s=own, s_q=s_q)


def _engine_table(f: PerfFactors, table: str, engine: str):
    try:
        return f.get(table, engine)
    except KeyError:
        return f.get(table, "pooled")


def _engine_factor(f: PerfFactors, name: str, engine: str) -> float:
    try:
        return f.factor(f"{name}.{engine}")
    except KeyError:  # an engine without its own fit uses the pooled value (documented fallback)
        return f.factor(f"{name}.pooled")


# --- validation --------------------------------------------------------------------------------

def _validate(m: ModelSpec, g: GpuSpec, precision: str, kv_precision: str | None, tp: int, input_tokens: int,
              output_tokens: int, engine: str, percentile: str, f: PerfFactors) -> str:
    for name, v in (("--input-tokens", input_tokens), ("--output-tokens", output_tokens)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
            raise UserError(f"must be a positive whole number of tokens, not {v!r}", field=name)
    if tp not in TPS:
        raise UserError(f"tensor-parallel degree must be one of {', '.join(map(str, TPS))}, not {tp!r}", field="--tp")
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}", field="--precision")
    if percentile not in PERCENTILES:
        raise UserError(f"unknown SLO percentile {percentile!r}; choose one of {', '.join(PERCENTILES)}",
                        field="slo.percentile")
    why = precision_support(g, precision, m, engine if engine in ENGINES else None, f)
    if why:
        raise UserError(why, field="--precision")
    if kv_precision is None:
        return f.get("default_kv_precision", precision)
    kv = str(kv_precision).strip().lower()
    if kv not in KV_PRECISIONS:
        raise UserError(f"unknown KV-cache precision {kv_precision!r}; choose one of {', '.join(KV_PRECISIONS)}",
                        field="--kv-precision")
    return kv


def check_engine(engine: str) -> str:
    """`engine` if it is one the planner sizes for; else a one-line UserError listing them."""
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}{did_you_mean(str(engine), ENGINES)}; choose one of "
                        f"{', '.join(ENGINES)}", field="--engine")
    return engine


# --- the public functions ----------------------------------------------------------------------

@functools.lru_cache(maxsize=131072)
def capacity(model: ModelSpec, gpu: GpuSpec, *, precision: str, tp: int, input_tokens: int, output_tokens: int,
             ttft_ms: float | None = None, tpot_ms: float | None = None, percentile: str = "p90",
             engine: str = "vllm", kv_precision: str | None = None,
             factors: PerfFactors | None = None) -> ReplicaCapacity:
    """What one replica sustains: with an SLO, the highest Poisson arrival rate at which the
    `percentile` of TTFT (queueing included) and of TPOT meet the targets; without one, the
    saturated throughput. Pure over its (hashable) arguments; never raises for "does not fit" or
    "SLO unreachable" (see `reason`); raises UserError for bad input or an unsupported precision."""
    check_engine(engine)
    return _estimate(model, gpu, precision, tp, input_tokens, output_tokens, ttft_ms, tpot_ms, percentile,
                     engine, kv_precision, factors or load_factors(), None)


def operating_point(model: ModelSpec, gpu: GpuSpec, *, precision: str, tp: int, input_tokens: int,
                    output_tokens: int, concurrency: int, engine: str = "vllm", kv_precision: str | None = None,
                    factors: PerfFactors | None = None) -> ReplicaCapacity:
    """What one replica does with `concurrency` requests in flight (closed loop): mean TTFT, TPOT,
    output tokens/s and requests/s."""
    check_engine(engine)
    if not isinstance(concurrency, numbers.Integral) or isinstance(concurrency, bool) or concurrency < 1:
        raise UserError(f"must be a whole number of requests >= 1, not {concurrency!r}", field="--concurrency")
    return _estimate(model, gpu, precision, tp, input_tokens, output_tokens, None, None, "p50", engine,
                     kv_precision, factors or load_factors(), int(concurrency))


def _estimate(m: ModelSpec, g: GpuSpec, precision: str, tp: int, input_tokens: int, output_tokens: int,
              ttft_ms, tpot_ms, percentile: str, engine: str, kv_precision, f: PerfFactors,
              concurrency: int | None) -> ReplicaCapacity:
    if tp in TPS:
        tp = int(tp)
    kv = _validate(m, g, precision, kv_precision, tp, input_tokens, output_tokens, engine, percentile, f)
    for name, v in (("--ttft-ms", ttft_ms), ("--tpot-ms", tpot_ms)):
        if v is not None and not v > 0:
            raise UserError(f"a latency SLO must be a positive number of milliseconds, not {v!r}", field=name)
    I, O = int(input_tokens), int(output_tokens)
    r = _Replica(m, g, precision, kv, tp, I, O, engine, f)
    base = dict(model=m.id, gpu=g.name, precision=precision, kv_precision=kv, tp=tp,
                kv_cache_tokens=r.kv_cache_tokens, weights_gib=r.weights_bytes / GIB,
                memory_gib_per_gpu=g.hbm_gib, input_tokens=I, output_tokens=O, engine=engine,
                percentile=percentile, chunked_prefill=True, max_num_batched_tokens=r.chunk,
                concurrency=concurrency)
    zero = dict(max_batch=0, output_tokens_per_s=0.0, output_tokens_per_s_per_gpu=0.0, requests_per_s=0.0)
    if I + O > m.context_length or r.batch_cap < 1:
        return ReplicaCapacity(**base, **zero, fits=False, meets_slo=False, ttft_ms=0.0, tpot_ms=0.0,
                               bound="memory", reason=_no_fit_reason(m, g, precision, kv, tp, I, O, engine, r, f))
    if concurrency is not None:
        return _closed_loop(r, concurrency, base)

    slo = ttft_ms is not None or tpot_ms is not None
    z, p = (Z[percentile], float(percentile[1:]) / 100) if slo else (0.0, 0.5)

    opened: dict[float, _Open] = {}

    def at(b: float) -> _Open:  # each batch's queueing figures, computed once per estimate
        if b not in opened:
            opened[b] = r.open(b, z, p)
        return opened[b]

    def ok(b: float) -> bool:
        o = at(b)
        return (o.rho < 1 and o.batch_p <= r.batch_cap
                and (tpot_ms is None or o.tpot_p * 1e3 <= tpot_ms)
                and (ttft_ms is None or o.ttft_p * 1e3 <= ttft_ms))

    lo = 1e-3
    if not ok(lo):
        o = at(lo)
        return ReplicaCapacity(**base, **zero, fits=True, meets_slo=False, ttft_ms=o.ttft_p * 1e3,
                               tpot_ms=o.tpot_p * 1e3, bound="memory" if o.mem_s >= o.compute_s else "compute",
                               reason=_slo_reason(m, g, precision, tp, engine, o, ttft_ms, tpot_ms, percentile))
    best_b = _best_batch(at, ok, lo, float(r.batch_cap))
    o = at(best_b)
    out = o.lam * O
    return ReplicaCapacity(**base, fits=True, meets_slo=True,
                           max_batch=max(1, min(r.batch_cap, math.ceil(1 + o.batch_p - 1e-9))),
                           output_tokens_per_s=out, output_tokens_per_s_per_gpu=out / tp, requests_per_s=o.lam,
                           ttft_ms=(o.ttft_p if slo else o.ttft_mean) * 1e3, tpot_ms=o.tpot_p * 1e3,
                           bound="memory" if o.mem_s >= o.compute_s else "compute", reason=None)


def _best_batch(at, ok, lo: float, hi: float) -> float:
    """The mean decode batch with the highest arrival rate among those meeting `ok`.

    λ(B) = B / (O·TPOT(B)) usually grows with B, but not always (a MoE's step reads more experts as its
    batch grows; tiny outputs are prefill-bound), so the feasible range is scanned on a geometric grid,
    its edge refined by bisection, and the best λ kept."""
    n = 40
    grid = [lo * (hi / lo) ** (k / n) for k in range(n + 1)] if hi > lo else [lo]
    feasible = [b for b in grid if ok(b)]
    edge = feasible[-1]
    nxt = next((b for b in grid if b > edge), None)
    if nxt is not None:  # refine the edge between the last feasible and the next grid point
        a, c = edge, nxt
        for _ in range(30):
            mid = (a + c) / 2
            if ok(mid):
                a = mid
            else:
                c = mid
            if c - a < 1e-4 * c:
                break
        edge = a
    candidates = feasible + [edge]
    return max(candidates, key=lambda b: (at(b).lam, -b))


def _closed_loop(r: _Replica, n: int, base: dict) -> ReplicaCapacity:
    """N requests in flight: N = d + λ·TTFT, d of them decoding (time average), the rest waiting for or
    running their prefill; every decoding request shares its steps with the d."""
    def at(d: float):
        batch = max(1.0, d)  # when a step runs it carries at least one sequence
        nbar = d * r.I / r.O
        t, mem, comp = r.step(batch, nbar)
        lam = d / (r.O * t)
        rho = nbar / r.chunk
        s_q = r.I / r.chunk * t
        wait = rho * s_q / (2 * (1 - rho)) if rho < 1 else math.inf
        wait = min(wait, (n - 1) * s_q)  # never more requests ahead than are in flight
        ttft = t / 2 + wait + r.n_chunks * r.step(batch, nbar + r.n_pf)[0]
        return (d, lam, t, mem, comp), ttft, d + lam * ttft

    hi = float(min(n, r.batch_cap))
    o, ttft, n_hi = at(hi)
    if n_hi >= n:
        lo = 1e-9
        for _ in range(60):
            mid = (lo + hi) / 2
            if at(mid)[2] < n:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-6 * hi:
                break
        o, ttft, _ = at((lo + hi) / 2)
    d, lam, tpot, mem, comp = o
    if n_hi < n:  # the batch is capped: the rest queue for a slot
        ttft = n / lam - r.O * tpot
    out = lam * r.O
    return ReplicaCapacity(**base, fits=True, meets_slo=True, max_batch=max(1, math.ceil(d - 1e-9)),
                           output_tokens_per_s=out, output_tokens_per_s_per_gpu=out / r.tp, requests_per_s=lam,
                           ttft_ms=ttft * 1e3, tpot_ms=tpot * 1e3,
                           bound="memory" if mem >= comp else "compute", reason=None)


def _fits_at(m, g, precision, kv, tp, I, O, engine, f) -> bool:
    if precision_support(g, precision, m, None, f):
        return False
    return _Replica(m, g, precision, kv, tp, I, O, engine, f).batch_cap >= 1


def _no_fit_reason(m, g, precision, kv, tp, I, O, engine, r: _Replica, f: PerfFactors) -> str:
    if I + O > m.context_length:
        return (f"{I} input + {O} output tokens exceed {m.id}'s context length of {m.context_length} tokens: "
                f"shorten the requests or pick a model with a longer context")
    weights_gb = r.weights_bytes / 1e9
    have = f"{tp} × {g.name} has {tp * g.hbm_gb:.1f} GB"
    fixes = []
    bigger = [t for t in TPS if t > tp and _fits_at(m, g, precision, kv, t, I, O, engine, f)]
    if bigger:
        fixes.append(f"use tp ≥ {bigger[0]}")
    fixes.append("a GPU with more memory")
    for p in ("fp8", "int4"):
        if f.get("bytes_per_weight", p) >= f.get("bytes_per_weight", precision) or p == precision:
            continue
        kv_p = kv if kv != f.get("default_kv_precision", precision) else f.get("default_kv_precision", p)
        fit_tps = [t for t in TPS if t >= tp and _fits_at(m, g, p, kv_p, t, I, O, engine, f)]
        if fit_tps:
            fixes.append(f"{p} (fits at tp {fit_tps[0]})")
    if not bigger:
        fixes.append(f"no tp up to 8 holds it at {precision} (multi-node serving is not modelled)")
    if r.w_gpu + f.runtime_reserve_gib * GIB >= g.hbm_gib * GIB:
        what = (f"{m.id} {precision} needs {weights_gb:.1f} GB of weights; {have} "
                f"(minus {f.runtime_reserve_gib:g} GiB runtime reserve per GPU)")
    else:
        kv_need_gib = r.kv_full_req_gpu / GIB
        what = (f"{m.id} {precision} weights ({weights_gb:.1f} GB) fit on {tp} × {g.name} ({tp * g.hbm_gb:.1f} GB) "
                f"but leave {r.kv_budget_gpu / GIB:.2f} GiB of KV cache per GPU, less than the "
                f"{kv_need_gib:.2f} GiB one request of {I + O} tokens needs")
    return f"{what}: {', '.join(fixes)}"


def _slo_reason(m, g, precision, tp, engine, o: _Open, ttft_ms, tpot_ms, percentile) -> str:
    parts = []
    if tpot_ms is not None and o.tpot_p * 1e3 > tpot_ms:
        got = o.tpot_p * 1e3
        parts.append(f"{percentile} TPOT is {got:.1f} ms even at light load, {got / tpot_ms - 1:.0%} over the "
                     f"{tpot_ms:g} ms SLO")
    if ttft_ms is not None and o.ttft_p * 1e3 > ttft_ms:
        got = o.ttft_p * 1e3
        parts.append(f"{percentile} TTFT is {got:.1f} ms even at light load, {got / ttft_ms - 1:.0%} over the "
                     f"{ttft_ms:g} ms SLO")
    fix = "a higher tp, a faster GPU or a lower precision" + (" or shorter inputs" if ttft_ms is not None else "")
    return f"{m.id} {precision} on {tp} × {g.name} ({engine}) cannot meet the SLO: {'; '.join(parts)}: try {fix}"


# --- by-name convenience for the CLI -----------------------------------------------------------

def specs(model: str | ModelSpec, gpu: str | GpuSpec) -> tuple[ModelSpec, GpuSpec]:
    m = model if isinstance(model, ModelSpec) else load_models()[resolve_model(model)]
    g = gpu if isinstance(gpu, GpuSpec) else load_gpus()[resolve_gpu(gpu)]
    return m, g


def capacity_by_name(model: str | ModelSpec, gpu: str | GpuSpec, precision: str, tp: int, input_tokens: int,
                     output_tokens: int, ttft_ms: float | None = None, tpot_ms: float | None = None,
                     kv_precision: str | None = None, *, engine: str = "vllm", percentile: str = "p90",
                     concurrency: int | None = None) -> ReplicaCapacity:
    m, g = specs(model, gpu)
    kw = dict(precision=resolve_precision(precision), tp=tp, input_tokens=input_tokens, output_tokens=output_tokens,
              engine=engine, kv_precision=kv_precision)
    if concurrency is not None:
        return operating_point(m, g, concurrency=concurrency, **kw)
    return capacity(m, g, ttft_ms=ttft_ms, tpot_ms=tpot_ms, percentile=percentile, **kw)


def capacities(model, gpu, precision, input_tokens, output_tokens, ttft_ms=None, tpot_ms=None,
               kv_precision=None, tps=TPS, *, engine: str = "vllm", percentile: str = "p90",
               concurrency: int | None = None) -> list[ReplicaCapacity]:
    return [capacity_by_name(model, gpu, precision, tp, input_tokens, output_tokens, ttft_ms, tpot_ms, kv_precision,
                             engine=engine, percentile=percentile, concurrency=concurrency) for tp in tps]


def best(model, gpu, precision, input_tokens, output_tokens, ttft_ms=None, tpot_ms=None,
         kv_precision=None, tps=TPS, *, engine: str = "vllm", percentile: str = "p90",
         concurrency: int | None = None) -> ReplicaCapacity | None:
    """The highest output tokens/s per GPU among the TPs that fit and meet the SLO (ties: smaller tp)."""
    return pick_best(capacities(model, gpu, precision, input_tokens, output_tokens, ttft_ms, tpot_ms, kv_precision,
                                tps, engine=engine, percentile=percentile, concurrency=concurrency))


def pick_best(caps: list[ReplicaCapacity]) -> ReplicaCapacity | None:
    """`best`'s rule over capacities already computed: the highest output tokens/s per GPU among those
    that fit and meet the SLO (ties: smaller tp); None when none does."""
    ok = [c for c in caps if c.fits and c.meets_slo]
    return max(ok, key=lambda c: (c.output_tokens_per_s_per_gpu, -c.tp)) if ok else None
