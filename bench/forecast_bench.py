"""Whole-forecast benchmark: `build_forecast` (base + scenarios + sensitivity) against `planner validate`.

Writes its own plan files into a temporary folder and times, in fresh processes, each with Python
start-up and imports included:

- `planner validate PLAN` (the CLI: imports, the plan, the price snapshot, the demand table);
- the full forecast, `planner.service.build_forecast(plan)`: the base case, 2 scenarios and
  12 sensitivity builds (rendering the report is not timed);
- the full forecast of the same plan with `uncertainty: {draws: 1000}` (Monte Carlo bands).

Plans: a 10-workload × 36-month plan with all 20 regions of the shipped snapshot allowed, every
GPU kind and every purchase option, and the first of its workloads alone. Printed: wall and CPU
seconds (CPU summed over the process and the processes it forks), the ratios to validate's (the
targets are wall-time ratios measured in one run on one machine; the CPU ratio says how much
of a wall ratio is the machine's other load), the machine and its load average.

Run: .venv/bin/python bench/forecast_bench.py [--repeat N] [--draws N] [--workloads N --months N] [--scaling]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

REGIONS = ["ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
           "ap-southeast-2", "ap-southeast-3", "ca-central-1", "eu-central-1", "eu-north-1", "eu-south-2",
           "eu-west-1", "eu-west-2", "eu-west-3", "me-central-1", "us-east-1", "us-east-2", "us-west-1",
           "us-west-2"]

# Ten workloads of different sizes, models, shapes and SLOs (the first is also run alone).
WORKLOADS = [
    ("chat", "llama-3.1-70b", "fp8", 150_000, 0.06, {"peak_to_average": 2.5}, 1200, 300, 1000, 50,
     ["openai/gpt-4o", "anthropic/claude-sonnet-4-5"]),
    ("summarise", "llama-3.1-8b", "fp8", 2_000_000, 0.03,
     {"hourly_profile": [2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 7, 6, 5, 4, 3, 2]}, 3000, 250, 3000,
     80, ["openai/gpt-4o-mini", "google/gemini-2.5-flash"]),
    ("helpdesk", "llama-3.1-8b", "bf16", 3_000, 0.02, {"peak_to_average": 3.0}, 800, 400, 2000, 60,
     ["openai/gpt-4o-mini"]),
    ("code-review", "qwen2.5-72b", "fp8", 40_000, 0.04, {"peak_to_average": 2.0}, 4000, 600, 3000, 60,
     ["anthropic/claude-sonnet-4-5"]),
    ("search-rerank", "mistral-7b", "bf16", 800_000, 0.01, {"peak_to_average": 1.5}, 600, 20, 500, 40,
     ["openai/gpt-4o-mini"]),
    ("agent", "mixtral-8x7b", "fp8", 60_000, 0.08, {"peak_to_average": 2.2}, 2500, 500, 2000, 60,
     ["openai/gpt-4o"]),
    ("translate", "qwen2.5-7b", "bf16", 300_000, 0.05, {"peak_to_average": 1.8}, 500, 500, 1500, 50,
     ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"]),
    ("extract", "llama-3.1-8b", "fp8", 1_000_000, -0.01, {"peak_to_average": 1.3}, 2000, 150, 5000, 100,
     ["google/gemini-2.5-flash"]),
    ("assist-eu", "llama-3.3-70b", "fp8", 20_000, 0.10, {"peak_to_average": 3.0}, 1500, 400, 1500, 60,
     ["openai/gpt-4o"]),
    ("classify", "llama-3.1-8b", "bf16", 5_000_000, 0.0, {"peak_to_average": 1.2}, 300, 5, 1000, 100,
     ["openai/gpt-4o-mini"]),
]


def plan_doc(workloads: int = 10, months: int = 36, draws: int | None = None) -> dict:
    ws = []
    for name, model, precision, rpd, growth, shape, tin, tout, ttft, tpot, compare in WORKLOADS[:workloads]:
        ws.append({"name": name, "model": model, "precision": precision,
                   "traffic": {"requests_per_day": rpd, "monthly_growth": growth, **shape,
                               "input_tokens": tin, "output_tokens": tout},
                   "slo": {"ttft_ms": ttft, "tpot_ms": tpot}, "compare_with": compare})
    doc = {"name": f"bench-{workloads}x{months}", "start": "2027-01", "horizon_months": months,
           "constraints": {"regions": REGIONS, "purchase": ["reserved_1y", "reserved_3y", "on_demand", "spot"],
                           "max_spot_share": 0.3, "min_replicas": 2, "headroom": 0.2},
           "workloads": ws,
           "costs": {"ml_engineers": 2.0, "devops_engineers": 1.0, "data_eval_usd_month": 5000,
                     "compliance_one_time_usd": 20000, "compliance_usd_month": 2000, "uncertainty_buffer": 0.3}}
    if draws:
        doc["uncertainty"] = {"draws": draws, "seed": 7}
    return doc


def write_plan(folder: Path, doc: dict) -> Path:
    path = folder / f"{doc['name']}{'-mc' if 'uncertainty' in doc else ''}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


FORECAST = ("import sys; from planner.plan import load; from planner.service import build_forecast; "
            "f = build_forecast(load(sys.argv[1])); print(len(f.months))")


def timed(argv: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and every process it started)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} "
            f"{platform.release()}; load average {load:.1f} at start")


SCALING = ("import sys, time; from planner.plan import load; from planner.service import build_forecast; "
           "from planner import inputs; p = load(sys.argv[1]); i = inputs.load(p); build_forecast(p, i, workers=1); "
           "t = time.process_time(); build_forecast(p, i, workers=1); print(time.process_time() - t)")


def scaling(folder: Path, env: dict) -> None:
    """CPU seconds of the whole forecast in one process (imports, loading and a first run excluded; no
    forked processes, whose CPU this process would not see) as workloads and months grow: per
    workload-month it should not grow."""
    print(f"{'workloads x months':20} {'cpu s':>8} {'ms per workload-month':>22}")
    for workloads, months in ((1, 36), (5, 36), (10, 36), (10, 12), (10, 24)):
        path = write_plan(folder, plan_doc(workloads, months))
        out = subprocess.run([PYTHON, "-c", SCALING, str(path)], check=True, capture_output=True, text=True,
                             env=env, cwd=ROOT).stdout
        cpu = float(out.split()[-1])
        print(f"{workloads:>8} x {months:<9} {cpu:8.2f} {1000 * cpu / (workloads * months):22.1f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the median is reported")
    ap.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws (0: skip the bands run)")
    ap.add_argument("--workloads", type=int, default=10)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--scaling", action="store_true", help="also time the forecast as workloads and months grow")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    print(machine())
    with tempfile.TemporaryDirectory(prefix="forecast-bench-") as tmp:
        folder = Path(tmp)
        big = write_plan(folder, plan_doc(args.workloads, args.months))
        one = write_plan(folder, plan_doc(1, args.months))
        runs = {"validate": lambda p: timed([PYTHON, "-m", "planner", "validate", str(p)], env),
                "forecast": lambda p: timed([PYTHON, "-c", FORECAST, str(p)], env)}
        rows = []
        plans = [(f"{args.workloads} workloads x {args.months} months", big, big),
                 (f"1 workload x {args.months} months", one, one)]
        if args.draws:
            mc = write_plan(folder, plan_doc(args.workloads, args.months, args.draws))
            plans.append((f"{args.workloads} x {args.months}, {args.draws} draws", big, mc))
        print(f"{'plan':34} {'validate':>17} {'forecast':>17} {'ratio':>15}")
        print(f"{'':34} {'wall s':>8} {'cpu s':>8} {'wall s':>8} {'cpu s':>8} {'wall':>7} {'cpu':>7}")
        for label, plain, forecast_plan in plans:
            # validate and forecast alternate, so both see the same machine load
            pairs = [(runs["validate"](plain), runs["forecast"](forecast_plan)) for _ in range(args.repeat)]
            v_wall = statistics.median(v[0] for v, _ in pairs)
            v_cpu = statistics.median(v[1] for v, _ in pairs)
            f_wall = statistics.median(f[0] for _, f in pairs)
            f_cpu = statistics.median(f[1] for _, f in pairs)
            rows.append((label, v_wall, f_wall))
            print(f"{label:34} {v_wall:8.2f} {v_cpu:8.2f} {f_wall:8.2f} {f_cpu:8.2f} {f_wall / v_wall:6.2f}x "
                  f"{f_cpu / v_cpu:6.2f}x", flush=True)
        if args.scaling:
            scaling(folder, env)
        try:
            print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        except OSError:
            pass


if __name__ == "__main__":
    main()
