"""API token prices, from genai-prices (never a hand-written table).

`resolve("openai/gpt-4o")` checks a provider/model reference against genai-prices' bundled data and
returns its canonical form; `usd_per_request` prices one request of a given size, so tiered prices
(e.g. long-context tiers) apply per request as the provider bills them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from pricing.errors import UserError, did_you_mean


def genai_prices_version() -> str:
    import genai_prices

    return genai_prices.__version__


@lru_cache(maxsize=1)
def _providers() -> dict[str, object]:
    from genai_prices import data_snapshot

    return {p.id: p for p in data_snapshot.get_snapshot().providers}


def known_models() -> list[str]:
    return sorted(f"{pid}/{m.id}" for pid, p in _providers().items() for m in p.models)


@lru_cache(maxsize=256)
def resolve(ref: str) -> str:
    """Canonical 'provider/model' for `ref`, or UserError listing close matches."""
    if "/" not in ref:
        raise UserError(f"API model {ref!r} must be written provider/model{did_you_mean(ref, known_models())}")
    provider_id, model_ref = ref.split("/", 1)
    providers = _providers()
    provider = providers.get(provider_id.lower())
    if provider is None:
        raise UserError(f"unknown API provider {provider_id!r}{did_you_mean(provider_id, providers)}")
    model = provider.find_model(model_ref.lower())  # this provider only: no fallback to others
    if model is None:
        choices = [f"{provider.id}/{m.id}" for m in provider.models]
        raise UserError(f"unknown API model {ref!r} in genai-prices {genai_prices_version()}"
                        f"{did_you_mean(ref, choices)}")
    return f"{provider.id}/{model.id}"


@lru_cache(maxsize=4096)
def usd_per_request(ref: str, input_tokens: int, output_tokens: int, on: dt.date,
                    cached_input_tokens: int = 0) -> Decimal:
    """Price of one request with these token counts, at the price in effect on `on`.

    `cached_input_tokens` of the `input_tokens` are cache reads (genai-prices' `cache_read_tokens`,
    counted inside the input tokens), billed at the model's cached-input rate.
    """
    from genai_prices import Usage, calc_price

    provider_id, model_id = resolve(ref).split("/", 1)
    when = dt.datetime(on.year, on.month, on.day, tzinfo=dt.timezone.utc)
    usage = Usage(input_tokens=int(input_tokens), output_tokens=int(output_tokens),
                  cache_read_tokens=int(cached_input_tokens) or None)
    price = calc_price(usage, model_ref=model_id, provider_id=provider_id, genai_request_timestamp=when)
    return price.total_price


def price_source(on: dt.date) -> dict[str, str]:
    return {"kind": "api_tokens", "source": f"genai-prices {genai_prices_version()} (bundled price data)",
            "date": on.isoformat(), "version": genai_prices_version()}


def price_periods(ref: str, dates: list[dt.date]) -> list[int]:
    """For each date, the index of the price in effect (0, 1, … in order of first appearance): two
    dates with the same index price every request alike, so a caller pricing many requests on many
    dates asks `usd_per_request` once per period."""
    return list(_price_periods(ref, tuple(dates)))


@lru_cache(maxsize=1024)
def _price_periods(ref: str, dates: tuple[dt.date, ...]) -> tuple[int, ...]:
    provider_id, model_id = resolve(ref).split("/", 1)
    model = _providers()[provider_id].find_model(model_id)
    seen: dict[int, int] = {}
    out = []
    for on in dates:
        price = model.get_prices(dt.datetime(on.year, on.month, on.day, tzinfo=dt.timezone.utc))
        out.append(seen.setdefault(id(price), len(seen)))
    return tuple(out)
