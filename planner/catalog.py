"""GPU and model catalogs: data files in planner/data/, read into frozen values.

Loaders take an optional path and return values; only the default files are cached. Every entry
carries its `source`; nothing here derives a missing number (a chip without FP8 has
``fp8_dense_tflops = None``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from planner.errors import UserError, did_you_mean

DATA_DIR = Path(__file__).parent / "data"
GPUS_FILE = DATA_DIR / "gpus.yaml"
MODELS_FILE = DATA_DIR / "models.yaml"

PRECISIONS = ("fp16", "bf16", "fp8", "int4")


@dataclass(frozen=True)
class GpuSpec:
    name: str
    aliases: tuple[str, ...]
    hbm_gb: float
    hbm_gib: float
    hbm_gb_per_s: float
    bf16_dense_tflops: float
    fp8_dense_tflops: float | None
    int8_dense_tops: float | None
    interconnect: str  # "nvlink" | "pcie"
    interconnect_gb_per_s: float  # marketed, both directions summed
    source: str
    family: str = ""  # groups chips sharing efficiency factors (planner/data/perf_calibration.yaml)


@dataclass(frozen=True)
class ModelSpec:
    id: str
    hf_id: str
    params_b: float
    active_params_b: float
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    context_length: int
    source: str


def _read_entries(path: Path, key: str) -> list[dict]:
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError as exc:
        raise UserError("file not found", file=str(path)) from exc
    except yaml.YAMLError as exc:
        raise UserError(f"not valid YAML: {exc}", file=str(path)) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise UserError(f"expected a top-level list '{key}'", file=str(path))
    return doc[key]


def _build(cls, entry: dict, path: Path, where: str):
    names = {f.name for f in fields(cls)}
    unknown = set(entry) - names
    if unknown:
        raise UserError(f"unknown keys {sorted(unknown)}", file=str(path), field=where)
    required = {f.name for f in fields(cls) if f.name != "family"}
    missing = required - set(entry)
    if missing:
        raise UserError(f"missing keys {sorted(missing)}", file=str(path), field=where)
    if not str(entry.get("source", "")).strip():
        raise UserError("every entry needs a non-empty source", file=str(path), field=where)
    return entry


def load_gpus(path: str | Path | None = None) -> dict[str, GpuSpec]:
    """GPU kinds keyed by canonical name, from `path` (default planner/data/gpus.yaml)."""
    if path is None:
        return _default_gpus()
    return _load_gpus(Path(path))


def _load_gpus(path: Path) -> dict[str, GpuSpec]:
    out: dict[str, GpuSpec] = {}
    for i, entry in enumerate(_read_entries(path, "gpus")):
        where = f"gpus[{i}]"
        e = dict(_build(GpuSpec, entry, path, where))
        e["aliases"] = tuple(e.get("aliases") or ())
        if e["interconnect"] not in ("nvlink", "pcie"):
            raise UserError(f"interconnect must be nvlink or pcie, not {e['interconnect']!r}",
                            file=str(path), field=f"{where}.interconnect")
        for key in ("hbm_gb", "hbm_gib", "hbm_gb_per_s", "bf16_dense_tflops", "interconnect_gb_per_s"):
            if not isinstance(e[key], (int, float)) or e[key] <= 0:
                raise UserError(f"must be a positive number, not {e[key]!r}", file=str(path), field=f"{where}.{key}")
        for key in ("hbm_gb", "hbm_gib", "hbm_gb_per_s", "bf16_dense_tflops", "interconnect_gb_per_s"):
            e[key] = float(e[key])
        for key in ("fp8_dense_tflops", "int8_dense_tops"):
            e[key] = None if e[key] is None else float(e[key])
        spec = GpuSpec(**e)
        if spec.name in out:
            raise UserError(f"duplicate GPU {spec.name!r}", file=str(path), field=where)
        out[spec.name] = spec
    return out


def load_models(path: str | Path | None = None) -> dict[str, ModelSpec]:
    """Models keyed by id, from `path` (default planner/data/models.yaml)."""
    if path is None:
        return _default_models()
    return _load_models(Path(path))


def _load_models(path: Path) -> dict[str, ModelSpec]:
    out: dict[str, ModelSpec] = {}
    for i, entry in enumerate(_read_entries(path, "models")):
        where = f"models[{i}]"
        e = dict(_build(ModelSpec, entry, path, where))
        for key in ("params_b", "active_params_b"):
            e[key] = float(e[key])
        for key in ("layers", "hidden_size", "attention_heads", "kv_heads", "head_dim", "vocab_size", "context_length"):
            if not isinstance(e[key], int) or e[key] <= 0:
                raise UserError(f"must be a positive integer, not {e[key]!r}", file=str(path), field=f"{where}.{key}")
        spec = ModelSpec(**e)
        if spec.active_params_b > spec.params_b:
            raise UserError("active_params_b exceeds params_b", file=str(path), field=where)
        if spec.id in out:
            raise UserError(f"duplicate model {spec.id!r}", file=str(path), field=where)
        out[spec.id] = spec
    return out


@functools.lru_cache(maxsize=1)
def _default_gpus() -> dict[str, GpuSpec]:
    return _load_gpus(GPUS_FILE)


@functools.lru_cache(maxsize=1)
def _default_models() -> dict[str, ModelSpec]:
    return _load_models(MODELS_FILE)


def gpu_kinds() -> list[str]:
    return list(load_gpus())


def model_ids() -> list[str]:
    return list(load_models())


@functools.lru_cache(maxsize=256)
def resolve_gpu(name: str) -> str:
    """Canonical GPU kind for `name` (case-insensitive, aliases accepted)."""
    gpus = load_gpus()
    key = str(name).strip().lower()
    for spec in gpus.values():
        if key == spec.name.lower() or key in (a.lower() for a in spec.aliases):
            return spec.name
    raise UserError(f"unknown GPU kind {name!r}{did_you_mean(str(name), gpus)}; known: {', '.join(gpus)}")


@functools.lru_cache(maxsize=256)
def resolve_model(name: str) -> str:
    """Canonical model id for `name` (case-insensitive; the Hugging Face id is accepted too)."""
    models = load_models()
    key = str(name).strip().lower()
    for spec in models.values():
        if key in (spec.id.lower(), spec.hf_id.lower(), spec.hf_id.split("/")[-1].lower()):
            return spec.id
    raise UserError(f"unknown model {name!r}{did_you_mean(str(name), models)}; known: {', '.join(models)}")


def resolve_precision(name: str) -> str:
    key = str(name).strip().lower()
    if key in PRECISIONS:
        return key
    raise UserError(f"unknown precision {name!r}{did_you_mean(str(name), PRECISIONS)}; choose one of {', '.join(PRECISIONS)}")
