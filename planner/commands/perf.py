"""`planner perf`: what one replica of a model sustains on one GPU kind under a latency SLO."""

from __future__ import annotations

from typing import Optional

import typer

from planner.commands._output import Column, Format, emit, format_option

HELP = """What one replica of MODEL sustains on GPU under a latency SLO.

Without --tp, every tensor-parallel degree (1, 2, 4, 8) is considered and the one with the most
output tokens/s per GPU that meets the SLO is chosen. Without --ttft-ms/--tpot-ms the result is the
maximum-throughput point (batch limited by KV-cache capacity and the engine's batch cap).

Example:

  planner perf --model llama-3.1-70b --gpu H100 --precision fp8 --input-tokens 1000 --output-tokens 1000 --tpot-ms 50

Exit codes: 0 an answer that fits and meets the SLO; 1 a well-formed request that does not fit or
cannot meet the SLO (the reason is printed, and in --json the object carries "reason"); 2 bad input.
"""


def register(app: typer.Typer) -> None:
    @app.command("perf", help=HELP)
    def perf(
        model: str = typer.Option(..., "--model", help="Model id, case-insensitive, e.g. llama-3.1-70b."),
        gpu: str = typer.Option(..., "--gpu", help="GPU kind, e.g. H100, A100-80GB, L4 (aliases accepted)."),
        precision: str = typer.Option(..., "--precision", help="Weight precision: fp16, bf16, fp8 or int4."),
        input_tokens: int = typer.Option(..., "--input-tokens", help="Mean input (prompt) tokens per request."),
        output_tokens: int = typer.Option(..., "--output-tokens", help="Mean output tokens per request."),
        tp: Optional[int] = typer.Option(None, "--tp", help="Tensor-parallel degree 1, 2, 4 or 8 (default: best)."),
        ttft_ms: Optional[float] = typer.Option(None, "--ttft-ms", help="SLO on time to first token, ms."),
        tpot_ms: Optional[float] = typer.Option(None, "--tpot-ms", help="SLO on time per output token, ms."),
        kv_precision: Optional[str] = typer.Option(
            None, "--kv-precision", help="KV-cache precision fp16, bf16 or fp8 (default: fp8 for fp8 weights, else 16-bit)."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the same as --format json)."),
        fmt: Format = format_option(),
    ) -> None:
        import json

        from planner import perf as perf_model
        from planner.catalog import resolve_gpu, resolve_model, resolve_precision
        from planner.errors import ExitCode, UserError

        try:
            model_id = resolve_model(model)
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

        if tp is not None:
            considered = [perf_model.capacity(model_id, gpu_kind, prec, tp, input_tokens, output_tokens,
                                              ttft_ms, tpot_ms, kv_precision)]
            chosen = considered[0]
        else:
            considered = perf_model.capacities(model_id, gpu_kind, prec, input_tokens, output_tokens,
                                               ttft_ms, tpot_ms, kv_precision)
            chosen = perf_model.best(model_id, gpu_kind, prec, input_tokens, output_tokens,
                                     ttft_ms, tpot_ms, kv_precision)
        ok = chosen is not None and chosen.fits and chosen.meets_slo
        if chosen is None:  # nothing works: report the closest miss (the largest tp)
            chosen = _closest(considered)

        if as_json or fmt is Format.json:
            obj = chosen.to_dict()
            if tp is None:
                obj["considered"] = [c.to_dict() for c in considered]
            typer.echo(json.dumps(obj, indent=2))
        else:
            _print_table(considered, chosen if ok else None, ttft_ms, tpot_ms, fmt)
            if not ok:
                typer.echo(f"no: {chosen.reason}" if tp is not None else
                           f"no tp in 1, 2, 4, 8 works; at tp {chosen.tp}: {chosen.reason}")
        if not ok:
            raise typer.Exit(int(ExitCode.FAILURE))


def _closest(considered):
    fitting = [c for c in considered if c.fits]
    return fitting[-1] if fitting else considered[-1]


def _print_table(considered, chosen, ttft_ms, tpot_ms, fmt: Format = Format.table) -> None:
    c0 = considered[0]
    slo = ", ".join(s for s in ((f"TTFT ≤ {ttft_ms:g} ms" if ttft_ms else ""),
                                (f"TPOT ≤ {tpot_ms:g} ms" if tpot_ms else "")) if s) or "none (maximum throughput)"
    title = (f"{c0.model} on {c0.gpu}, {c0.precision} weights / {c0.kv_precision} KV cache, "
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
