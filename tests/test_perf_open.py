"""`planner.perf._Replica.open` writes its four engine steps out inline (it runs ~45 times per capacity
estimate); checked here bit for bit against `open` as first written, over `step`, for every model and
GPU of the catalogs at several TP degrees, engines, token counts and batches."""

from __future__ import annotations

import math
import random

import pytest

from planner import perf
from planner.catalog import load_gpus, load_models
from planner.errors import UserError

M, G = load_models(), load_gpus()
F = perf.load_factors()


def reference_open(r: perf._Replica, b: float, z: float, p: float) -> tuple:
    """`_Replica.open` as first written, calling `step` four times; its figures as a tuple."""
    shared = min(1.0 + b, float(r.batch_cap))
    n = b * r.I / r.O
    t, mem, comp = r.step(shared, n)
    with_chunk = r.step(shared, n + r.n_pf)[0]
    lam = b / (r.O * t)
    b1 = r.step(shared + 0.5, n)[0] - r.step(max(shared - 0.5, 1.0), n)[0]
    b1 /= (shared + 0.5 - max(shared - 0.5, 1.0))
    b2 = (with_chunk - t) / float(r.n_pf) * r.I / r.O
    sd = math.sqrt(max(b, 0.0) * (b1 * b1 * 2 / 3 + b2 * b2 + b1 * b2))
    rho = n / r.chunk
    s_q = r.I / r.chunk * t
    own = r.n_chunks * with_chunk
    if rho < 1:
        m_w = s_q / (2 * (1 - rho))
        w_mean = rho * m_w
        w_p = m_w * math.log(rho / (1 - p)) if rho > 1 - p else 0.0
    else:
        w_mean = w_p = math.inf
    return (b, lam, t, t, t + z * sd, t / 2 + w_mean + own, p * t + w_p + own, rho, b + z * math.sqrt(b), mem, comp,
            own, s_q)


def figures(o) -> tuple:
    return (o.b, o.lam, o.t_dec, o.tpot_mean, o.tpot_p, o.ttft_mean, o.ttft_p, o.rho, o.batch_p, o.mem_s,
            o.compute_s, o.own_s, o.s_q)


def replicas(seed: int):
    rng = random.Random(seed)
    models, gpus = sorted(M), sorted(G)
    out = []
    while len(out) < 6:
        m, g = M[rng.choice(models)], G[rng.choice(gpus)]
        precision = rng.choice(["bf16", "fp8", "int4", "mxfp4"])
        engine = rng.choice(perf.ENGINES)
        tp = rng.choice(perf.TPS)
        I, O = rng.choice([1, 7, 128, 1000, 1234, 4000, 20000]), rng.choice([1, 5, 64, 250, 777, 3000])
        try:
            kv = perf._validate(m, g, precision, None, tp, I, O, engine, "p90", F)
        except UserError:
            continue
        out.append(perf._Replica(m, g, precision, kv, tp, I, O, engine, F))
    return out


@pytest.mark.parametrize("seed", range(40))
def test_open_matches_the_steps_written_as_calls(seed):
    rng = random.Random(1000 + seed)
    for r in replicas(seed):
        cap = max(float(r.batch_cap), 1.0)
        batches = [1e-3, 0.5, 1.0, cap, cap * 2] + [1e-3 * (cap / 1e-3) ** rng.random() for _ in range(20)]
        for b in batches:
            for pct in ("p50", "p90", "p99"):
                z, p = perf.Z[pct], float(pct[1:]) / 100
                got = figures(r.open(b, z, p))
                want = reference_open(r, b, z, p)
                assert all(math.isnan(x) and math.isnan(y) or x == y and math.copysign(1, x) == math.copysign(1, y)
                           for x, y in zip(got, want)), (r.m.id, r.g.name, r.tp, r.I, r.O, b)


def test_moe_models_are_among_the_checked():
    """The written-out steps read routed experts (route ** tokens) only for MoE models: some are checked."""
    assert any(r.w_exp_gpu for seed in range(40) for r in replicas(seed))
