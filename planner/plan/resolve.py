"""Names in a plan resolved to canonical ids: catalog models, GPU kinds and precisions, AWS
regions, API models. Each raises `FieldError` (with the list index where there is one), so the
validation error points at the exact entry."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from planner.errors import UserError, did_you_mean
from planner.plan.errors import FieldError
from pricing.files import shorten


def resolved(resolve: Callable[[str], str], value: str, path: tuple[str | int, ...] = ()) -> str:
    """`resolve(value)` (a catalog or price-list lookup), its UserError turned into a FieldError."""
    try:
        return resolve(value)
    except UserError as exc:
        raise FieldError(exc.message, path) from None


@lru_cache(maxsize=1)
def aws_regions() -> tuple[str, ...]:
    """AWS commercial regions known to botocore's bundled endpoint data (no network)."""
    import botocore.session

    return tuple(sorted(set(botocore.session.get_session().get_available_regions("ec2"))))


def regions(values: list[str]) -> list[str]:
    known = aws_regions()
    for i, region in enumerate(values):
        if region not in known:
            raise FieldError(f"unknown AWS region {shorten(region)}{did_you_mean(region, known)}", (i,))
    if len(set(values)) != len(values):
        raise FieldError("lists a region twice")
    return values


def gpus(values: list[str]) -> list[str]:
    from planner import catalog

    return list(dict.fromkeys(resolved(catalog.resolve_gpu, gpu, (i,)) for i, gpu in enumerate(values)))


def model(value: str) -> str:
    from planner import catalog

    return resolved(catalog.resolve_model, value)


def precision(value: str) -> str:
    from planner import catalog

    return resolved(catalog.resolve_precision, value)


def api_model(ref: str, path: tuple[str | int, ...] = ()) -> str:
    from pricing import api

    return resolved(api.resolve, ref, path)


def context_length(model_id: str) -> int | None:
    """The context window of a resolved catalog model (None when the catalog does not say)."""
    from planner import catalog

    spec = catalog.load_models().get(model_id) if isinstance(model_id, str) else None
    return spec.context_length if spec is not None else None


def hf_config(path):
    """A model's spec read from its Hugging Face config.json; a missing file or field is one line
    naming the config file and the field."""
    from planner import catalog

    return catalog.read_hf_config(path)
