"""`planner perf`: what one replica of a model sustains on one GPU kind under a latency SLO."""

from __future__ import annotations

from typing import Optional

import typer

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
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
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

        if as_json:
            obj = chosen.to_dict()
            if tp is None:
                obj["considered"] = [c.to_dict() for c in considered]
            typer.echo(json.dumps(obj, indent=2))
        else:
            _print_table(considered, chosen if ok else None, ttft_ms, tpot_ms)
            if not ok:
                typer.echo(f"no: {chosen.reason}" if tp is not None else
                           f"no tp in 1, 2, 4, 8 works; at tp {chosen.tp}: {chosen.reason}")
        if not ok:
            raise typer.Exit(int(ExitCode.FAILURE))


def _closest(considered):
    fitting = [c for c in considered if c.fits]
    return fitting[-1] if fitting else considered[-1]


def _print_table(considered, chosen, ttft_ms, tpot_ms) -> None:
    from rich.console import Console
    from rich.table import Table

    c0 = considered[0]
    slo = ", ".join(s for s in ((f"TTFT ≤ {ttft_ms:g} ms" if ttft_ms else ""),
                                (f"TPOT ≤ {tpot_ms:g} ms" if tpot_ms else "")) if s) or "none (maximum throughput)"
    title = (f"{c0.model} on {c0.gpu}, {c0.precision} weights / {c0.kv_precision} KV cache, "
             f"{c0.input_tokens} in / {c0.output_tokens} out tokens, SLO: {slo}")
    table = Table(title=title, title_justify="left")
    for col in ("tp", "fits", "meets SLO", "max batch", "KV tokens", "out tok/s", "out tok/s/GPU",
                "req/s", "TTFT ms", "TPOT ms", "bound", "weights GiB", ""):
        table.add_column(col, justify="left" if col in ("", "bound", "fits", "meets SLO") else "right")
    for c in considered:
        mark = "← chosen" if chosen is not None and c.tp == chosen.tp else ""
        table.add_row(str(c.tp), "yes" if c.fits else "no", "yes" if c.meets_slo else "no",
                      f"{c.max_batch}", f"{c.kv_cache_tokens:,}", f"{c.output_tokens_per_s:,.0f}",
                      f"{c.output_tokens_per_s_per_gpu:,.0f}", f"{c.requests_per_s:,.2f}",
                      f"{c.ttft_ms:,.0f}" if c.fits else "-", f"{c.tpot_ms:,.1f}" if c.fits else "-",
                      c.bound if c.fits else "-", f"{c.weights_gib:,.1f}", mark)
    Console(width=160).print(table)
    for c in considered:
        if c.reason and len(considered) > 1:
            print(f"tp {c.tp}: {c.reason}")
