"""Price sources for the planner: the offline AWS snapshot and the offers a fleet can buy.

`offers_for` turns snapshot rows into `PricedOffer`s, one $/instance-hour per purchase option.
Reserved rates come from the snapshot when it has them (a live refresh fills them from the
Pricing API); otherwise they are on-demand × (1 − discount), and the option is listed in
`PricedOffer.assumed` so every report can label it as an assumption.

Default discounts (conservative, no upfront; see pricing/data/README.md):
- AWS Savings Plans FAQ (https://aws.amazon.com/savingsplans/faqs): "up to 72%" for EC2
  Instance Savings Plans, "up to 66%" for Compute Savings Plans -- best cases (3-year, all
  upfront), not GPU-specific.
- Vantage (https://vantage.sh/blog/what-is-an-aws-savings-plan): realised savings "closer to
  30%" in most cases; 1-year → 3-year roughly doubles the discount (~20% → ~45%, no upfront).
- ../shared/data/aws_pricing_notes.md §4 suggests ~30% (1 year) and 45–55% (3 years), no
  upfront; we take the low end of each range (a smaller discount overstates self-hosting cost
  rather than understating it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pricing.snapshot import Offer, PriceMissing, PriceTable, load, staleness_warning
from pricing.terms import DEFAULT_RESERVED_1Y_DISCOUNT, DEFAULT_RESERVED_3Y_DISCOUNT, Purchase

PURCHASE_OPTIONS = tuple(Purchase)

__all__ = [
    "DEFAULT_RESERVED_1Y_DISCOUNT", "DEFAULT_RESERVED_3Y_DISCOUNT", "PURCHASE_OPTIONS", "Offer",
    "PriceMissing", "PriceTable", "PricedOffer", "load", "offers_for", "skipped_offers",
    "staleness_warning",
]


@dataclass(frozen=True)
class PricedOffer:
    offer: Offer
    usd_per_hour: dict[Purchase, float]  # $/instance-hour, only options with a price
    assumed: frozenset[Purchase]  # options whose price is an assumption (reserved from a discount)
    source: str
    date: str
    spot_basis: str | None = None  # "spot_max" or "spot_min": which snapshot column "spot" uses
    notes: tuple[str, ...] = field(default_factory=tuple)  # how each assumed price was derived

    def price(self, purchase: str) -> float:
        if purchase not in set(Purchase):
            raise PriceMissing(f"unknown purchase option {purchase!r}; choose one of "
                               f"{', '.join(PURCHASE_OPTIONS)}")
        try:
            return self.usd_per_hour[purchase]
        except KeyError:
            raise PriceMissing(f"no {purchase} price for {self.offer.instance_type} in "
                               f"{self.offer.region} (snapshot source: {self.source}, {self.date})") from None


def _check_discount(name: str, value: float) -> None:
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


def _matches(table: PriceTable, regions: Iterable[str], gpus: Iterable[str] | None) -> list[Offer]:
    wanted_regions = set(regions)
    wanted_gpus = None if gpus is None else set(gpus)
    return [o for o in table.offers
            if o.region in wanted_regions and (wanted_gpus is None or o.gpu in wanted_gpus)]


def price_offer(offer: Offer, *, reserved_1y_discount: float, reserved_3y_discount: float) -> PricedOffer:
    """Price one snapshot row; the row must have an on-demand price."""
    if offer.on_demand_usd_per_hour is None:
        raise PriceMissing(f"no on_demand price for {offer.instance_type} in {offer.region}")
    on_demand = offer.on_demand_usd_per_hour
    usd: dict[Purchase, float] = {Purchase.ON_DEMAND: on_demand}
    assumed: set[Purchase] = set()
    notes: list[str] = []
    spot_basis = None
    if offer.spot_max_usd_per_hour is not None:
        usd[Purchase.SPOT], spot_basis = offer.spot_max_usd_per_hour, "spot_max"
    elif offer.spot_min_usd_per_hour is not None:
        usd[Purchase.SPOT], spot_basis = offer.spot_min_usd_per_hour, "spot_min"
    for option, column, discount in (
        (Purchase.RESERVED_1Y, offer.reserved_1y_usd_per_hour, reserved_1y_discount),
        (Purchase.RESERVED_3Y, offer.reserved_3y_usd_per_hour, reserved_3y_discount),
    ):
        if column is not None:
            usd[option] = column
        else:
            usd[option] = on_demand * (1 - discount)
            assumed.add(option)
            notes.append(f"{option} = on-demand {on_demand:g} × (1 − {discount:g}) (assumed discount, "
                         "no reserved rate in the snapshot)")
    return PricedOffer(offer=offer, usd_per_hour=usd, assumed=frozenset(assumed), source=offer.source,
                       date=offer.date, spot_basis=spot_basis, notes=tuple(notes))


def offers_for(table: PriceTable, regions: Iterable[str], gpus: Iterable[str] | None, *,
               reserved_1y_discount: float, reserved_3y_discount: float) -> list[PricedOffer]:
    """Priced offers in `regions` carrying one of `gpus` (None = any GPU); rows without on-demand are skipped."""
    _check_discount("reserved_1y_discount", reserved_1y_discount)
    _check_discount("reserved_3y_discount", reserved_3y_discount)
    return [price_offer(o, reserved_1y_discount=reserved_1y_discount,
                        reserved_3y_discount=reserved_3y_discount)
            for o in _matches(table, regions, gpus) if o.on_demand_usd_per_hour is not None]


def skipped_offers(table: PriceTable, regions: Iterable[str], gpus: Iterable[str] | None) -> list[Offer]:
    """Rows `offers_for` leaves out because they have no on-demand price (e.g. p5e, g6e in ap-northeast-3)."""
    return [o for o in _matches(table, regions, gpus) if o.on_demand_usd_per_hour is None]
