"""`planner perf`: what one replica of a model sustains on one GPU kind, per engine, under a latency SLO."""

from __future__ import annotations

from typing import Optional

import typer

from planner.commands._output import Column, Format, emit, format_option

HELP = """What one replica of MODEL sustains on GPU, served by ENGINE, under a latency SLO.

With --ttft-ms/--tpot-ms: the highest rate of Poisson arrivals one replica takes while the
--percentile (p50, p90 or p99; default p90) of time to first token (queueing included) and of time
per output token meet the limits. Without them: the saturated (maximum) throughput. With
--concurrency N: the closed-loop operating point, N requests always in flight (mean TTFT and TPOT,
as benchmark sweeps measure it).

Without --tp, every tensor-parallel degree (1, 2, 4, 8) is considered and the one with the most
output tokens/s per GPU is chosen. --model takes a catalog id or a path to a Hugging Face
config.json (read offline).

Example:

  planner perf --model llama-3.1-70b --gpu H100 --precision fp8 --input-tokens 1000 --output-tokens 1000 --tpot-ms 50 --engine vllm

Exit codes: 0 an answer that fits and meets the SLO; 1 a well-formed request that does not fit or
cannot meet the SLO (the reason is printed, and in --json the object carries "reason"); 2 bad input.
"""


def register(app: typer.Typer) -> None:
    @app.command("perf", help=HELP)
    def perf(
        model: str = typer.Option(..., "--model", help="Model id (e.g. llama-3.1-70b) or a path to a config.json."),
        gpu: str = typer.Option(..., "--gpu", help="GPU kind, e.g. H100, A100-80GB, L4 (aliases accepted)."),
        precision: str = typer.Option(..., "--precision", help="Weight precision: fp16, bf16, fp8, int4 or mxfp4."),
        input_tokens: int = typer.Option(..., "--input-tokens", help="Mean input (prompt) tokens per request."),
        output_tokens: int = typer.Option(..., "--output-tokens", help="Mean output tokens per request."),
        tp: Optional[int] = typer.Option(None, "--tp", help="Tensor-parallel degree 1, 2, 4 or 8 (default: best)."),
        ttft_ms: Optional[float] = typer.Option(None, "--ttft-ms", help="SLO on time to first token, ms."),
        tpot_ms: Optional[float] = typer.Option(None, "--tpot-ms", help="SLO on time per output token, ms."),
        percentile: str = typer.Option("p90", "--percentile", help="SLO percentile: p50, p90 or p99."),
        engine: str = typer.Option("vllm", "--engine", help="Serving engine: vllm, sglang or trtllm."),
        concurrency: Optional[int] = typer.Option(
            None, "--concurrency", help="Closed loop: this many requests in flight (operating point)."),
        kv_precision: Optional[str] = typer.Option(
            None, "--kv-precision", help="KV-cache precision fp16, bf16 or fp8 (default: fp8 for fp8 weights, else 16-bit)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the same as --format json)."),
        fmt: Format = format_option(),
    ) -> None:
        import json
        from pathlib import Path

        from planner import perf as perf_model
        from planner.catalog import load_gpus, load_models, read_hf_config, resolve_gpu, resolve_model, resolve_precision
        from planner.errors import ExitCode, UserError

        perf_model.check_engine(engine)
        if percentile not in perf_model.PERCENTILES:
            raise UserError(f"unknown SLO percentile {percentile!r}; choose one of "
                            f"{', '.join(perf_model.PERCENTILES)}", field="--percentile")
        if concurrency is not None and (ttft_ms is not None or tpot_ms is not None):
            raise UserError("--concurrency gives the operating point at that load; it takes no --ttft-ms/--tpot-ms",
                            field="--concurrency")
        if model.endswith(".json") or Path(model).is_file():
            spec = read_hf_config(model)
        else:
            try:
                spec = load_models()[resolve_model(model)]
            except UserError as exc:
                raise exc.with_context(field="--model")
        try:
            gpu_kind = resolve_gpu(gpu)
        except UserError as exc:
            raise exc.with_context(field="--gpu")
        try:
            prec = resolve_precision(precision)
        except UserError as exc:
            raise exc.with_context(field="--precision")
        if tp is not None and tp not in perf_model.TPS:
            raise UserError(f"tensor-parallel degree must be one of 1, 2, 4, 8, not {tp}", field="--tp")
        g = load_gpus()[gpu_kind]
        alias = None if gpu.strip().lower() == gpu_kind.lower() else f"GPU '{gpu}' is the catalog's {gpu_kind}"

        kw = dict(engine=engine, percentile=percentile, concurrency=concurrency)
        tps = [tp] if tp is not None else list(perf_model.TPS)
        considered = perf_model.capacities(spec, g, prec, input_tokens, output_tokens, ttft_ms, tpot_ms,
                                           kv_precision, tps, **kw)
        chosen = perf_model.pick_best(considered)
        ok = chosen is not None
        if chosen is None:  # nothing works: report the closest miss (the largest tp)
            chosen = _closest(considered)

        if as_json or fmt is Format.json:
            obj = chosen.to_dict()
            if alias:
                obj["gpu_alias"] = alias
            if tp is None:
                obj["considered"] = [c.to_dict() for c in considered]
            typer.echo(json.dumps(obj, indent=2))
        else:
            if alias and fmt is Format.table:
                typer.echo(alias)
            _print_table(considered, chosen if ok else None, ttft_ms, tpot_ms, percentile, concurrency, fmt)
            if not ok:
                typer.echo(f"no: {chosen.reason}" if tp is not None else
                           f"no tp in 1, 2, 4, 8 works; at tp {chosen.tp}: {chosen.reason}")
        if not ok:
            raise typer.Exit(int(ExitCode.FAILURE))


def _closest(considered):
    fitting = [c for c in considered if c.fits]
    return fitting[-1] if fitting else considered[-1]


def _print_table(considered, chosen, ttft_ms, tpot_ms, percentile, concurrency, fmt: Format = Format.table) -> None:
    c0 = considered[0]
    if concurrency is not None:
        slo = f"closed loop, {concurrency} requests in flight (mean TTFT/TPOT)"
    else:
        slo = ", ".join(s for s in ((f"TTFT ≤ {ttft_ms:g} ms" if ttft_ms else ""),
                                    (f"TPOT ≤ {tpot_ms:g} ms" if tpot_ms else "")) if s)
        slo = f"{slo} at {percentile}, Poisson arrivals" if slo else "none (maximum throughput)"
    title = (f"{c0.model} on {c0.gpu} with {c0.engine}, {c0.precision} weights / {c0.kv_precision} KV cache, "
             f"{c0.input_tokens} in / {c0.output_tokens} out tokens, SLO: {slo}")

    def fit(text):
        return lambda r: text(r) if r["fits"] else "-"

    columns = [
        Column("tp", "tp", numeric=True), Column("fits", "fits", text=lambda r: "yes" if r["fits"] else "no"),
        Column("meets_slo", "meets SLO", text=lambda r: "yes" if r["meets_slo"] else "no"),
        Column("max_batch", "max batch", numeric=True),
        Column("kv_cache_tokens", "KV tokens", numeric=True, text=lambda r: f"{r['kv_cache_tokens']:,}"),
        Column("output_tokens_per_s", "out tok/s", numeric=True, text=lambda r: f"{r['output_tokens_per_s']:,.0f}"),
        Column("output_tokens_per_s_per_gpu", "out tok/s/GPU", numeric=True,
               text=lambda r: f"{r['output_tokens_per_s_per_gpu']:,.0f}"),
        Column("requests_per_s", "req/s", numeric=True, text=lambda r: f"{r['requests_per_s']:,.2f}"),
        Column("ttft_ms", "TTFT ms", numeric=True, text=fit(lambda r: f"{r['ttft_ms']:,.0f}")),
        Column("tpot_ms", "TPOT ms", numeric=True, text=fit(lambda r: f"{r['tpot_ms']:,.1f}")),
        Column("bound", "bound", text=fit(lambda r: str(r["bound"]))),
        Column("weights_gib", "weights GiB", numeric=True, text=lambda r: f"{r['weights_gib']:,.1f}"),
        Column("chosen", "", text=lambda r: "← chosen" if r["chosen"] else ""),
    ]
    rows = [{"tp": c.tp, "fits": c.fits, "meets_slo": c.meets_slo, "max_batch": c.max_batch,
             "kv_cache_tokens": c.kv_cache_tokens, "output_tokens_per_s": c.output_tokens_per_s,
             "output_tokens_per_s_per_gpu": c.output_tokens_per_s_per_gpu, "requests_per_s": c.requests_per_s,
             "ttft_ms": c.ttft_ms, "tpot_ms": c.tpot_ms, "bound": c.bound, "weights_gib": c.weights_gib,
             "chosen": chosen is not None and c.tp == chosen.tp} for c in considered]
    emit(columns, rows, fmt, title=title)
    if fmt is not Format.table:
        return
    for c in considered:
        if c.reason and len(considered) > 1:
            print(f"tp {c.tp}: {c.reason}")
