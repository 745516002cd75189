"""How long one perf.capacity call takes, uncached and cached (the fleet search calls it many times).

    python bench/perf_speed.py

128 calls: 4 models (dense, MoE, MLA MoE, gpt-oss) x 4 GPUs x TP 1/2/4/8 x with and without an SLO;
best of three rounds. Uncached = after cache_clear(); cached = the same calls again (lru_cache keyed
by the spec values).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner import perf  # noqa: E402
from planner.catalog import load_gpus, load_models  # noqa: E402


def main() -> int:
    models, gpus, factors = load_models(), load_gpus(), perf.load_factors()
    combos = [(models[m], gpus[g], tp) for m in ("llama-3.1-70b", "qwen3-30b-a3b", "deepseek-v3", "gpt-oss-120b")
              for g in ("H100", "A100-80GB", "L4", "H200") for tp in (1, 2, 4, 8)]

    def round_() -> int:
        n = 0
        for m, g, tp in combos:
            for slo in (None, 40.0):
                perf.capacity(m, g, precision="int4", tp=tp, input_tokens=1200, output_tokens=300,
                              ttft_ms=1000.0 if slo else None, tpot_ms=slo, factors=factors)
                n += 1
        return n

    uncached = cached = float("inf")
    for _ in range(3):
        perf.capacity.cache_clear()
        t = time.perf_counter()
        n = round_()
        uncached = min(uncached, (time.perf_counter() - t) / n)
        t = time.perf_counter()
        for _ in range(20):
            round_()
        cached = min(cached, (time.perf_counter() - t) / (20 * n))
    print(f"perf.capacity, {n} calls: uncached {uncached * 1e3:.2f} ms per call, cached {cached * 1e6:.1f} µs per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
