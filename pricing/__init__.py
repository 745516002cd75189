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

Spot basis (`price_offer(..., spot_basis=...)`, the plan's `pricing.spot_basis`). A spot quote is
one moment in one zone, and a region's zones differ 2–3× (aws_pricing_notes.md §2). The default,
"conservative", prices spot at the highest zone price the snapshot knows (`spot_max`); where it has
only the cheapest zone (`spot_min`, every shipped row), at `SPOT_ON_DEMAND_FRACTION` (0.6) of
on-demand, or at the cheapest zone's price when that is higher; never above on-demand. Why 0.6:
the dearest *discounted* zone in the notes' two examples is 0.34 × (p5.48xlarge us-east-1) and
0.48 × (g5.12xlarge eu-central-1) on-demand, and 90 % of the shipped rows' cheapest zones are at
most 0.52 × on-demand (the median is 0.30 ×), so 0.6 is above what a regular zone asks in the
data we have, without assuming the zones priced at on-demand (pools with no spare capacity,
where spot is not worth running). "lowest_zone" prices spot at the cheapest zone (the snapshot's
optimistic quote). `PricedOffer.spot_basis` says which rule priced each offer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pricing.snapshot import Offer, PriceMissing, PriceTable, load, staleness_warning
from pricing.terms import DEFAULT_RESERVED_1Y_DISCOUNT, DEFAULT_RESERVED_3Y_DISCOUNT, Purchase

PURCHASE_OPTIONS = tuple(Purchase)
SPOT_ON_DEMAND_FRACTION = 0.6  # the conservative spot price where only the cheapest zone is known (see above)
SPOT_BASES = ("conservative", "lowest_zone")
SpotBasis = Literal["conservative", "lowest_zone"]
# which rule priced an offer's spot rate
SpotRule = Literal["highest_zone", "on_demand_fraction", "lowest_zone"]

__all__ = [
    "DEFAULT_RESERVED_1Y_DISCOUNT", "DEFAULT_RESERVED_3Y_DISCOUNT", "PURCHASE_OPTIONS", "SPOT_BASES",
    "SPOT_ON_DEMAND_FRACTION", "Offer", "PriceMissing", "PriceTable", "PricedOffer", "SpotBasis", "SpotRule",
    "conservative_spot", "load", "offers_for", "skipped_offers", "staleness_warning",
]


@dataclass(frozen=True)
class PricedOffer:
    offer: Offer
    usd_per_hour: dict[Purchase, float]  # $/instance-hour, only options with a price
    assumed: frozenset[Purchase]  # options whose price is an assumption (reserved from a discount)
    source: str
    date: str
    spot_basis: SpotRule | None = None  # which rule priced "spot" (None: no spot price)
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


def conservative_spot(offer: Offer) -> tuple[float, SpotRule] | None:
    """The conservative spot rate of a row and the rule that gave it (see the module doc), or None
    when the row has no spot price at all."""
    on_demand = offer.on_demand_usd_per_hour
    if offer.spot_max_usd_per_hour is not None:
        rate = offer.spot_max_usd_per_hour
        return (min(rate, on_demand) if on_demand is not None else rate), "highest_zone"
    if offer.spot_min_usd_per_hour is None:
        return None
    if on_demand is None:
        return offer.spot_min_usd_per_hour, "lowest_zone"
    fraction = SPOT_ON_DEMAND_FRACTION * on_demand
    if offer.spot_min_usd_per_hour >= fraction:
        return min(offer.spot_min_usd_per_hour, on_demand), "lowest_zone"
    return fraction, "on_demand_fraction"


def price_offer(offer: Offer, *, reserved_1y_discount: float, reserved_3y_discount: float,
                spot_basis: SpotBasis = "conservative") -> PricedOffer:
    """Price one snapshot row; the row must have an on-demand price. Spot at `spot_basis` (module doc)."""
    if offer.on_demand_usd_per_hour is None:
        raise PriceMissing(f"no on_demand price for {offer.instance_type} in {offer.region}")
    on_demand = offer.on_demand_usd_per_hour
    usd: dict[Purchase, float] = {Purchase.ON_DEMAND: on_demand}
    assumed: set[Purchase] = set()
    notes: list[str] = []
    rule: SpotRule | None = None
    if spot_basis == "lowest_zone" and offer.spot_min_usd_per_hour is not None:
        usd[Purchase.SPOT], rule = offer.spot_min_usd_per_hour, "lowest_zone"
    elif spot_basis == "lowest_zone" and offer.spot_max_usd_per_hour is not None:
        usd[Purchase.SPOT], rule = offer.spot_max_usd_per_hour, "highest_zone"
    elif spot_basis == "conservative" and (found := conservative_spot(offer)) is not None:
        usd[Purchase.SPOT], rule = found
        if rule == "on_demand_fraction":
            assumed.add(Purchase.SPOT)
            notes.append(f"spot = on-demand {on_demand:g} × {SPOT_ON_DEMAND_FRACTION:g} (only the cheapest zone's "
                         f"{offer.spot_min_usd_per_hour:g} is known)")
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
                       date=offer.date, spot_basis=rule, notes=tuple(notes))


def offers_for(table: PriceTable, regions: Iterable[str], gpus: Iterable[str] | None, *,
               reserved_1y_discount: float, reserved_3y_discount: float,
               spot_basis: SpotBasis = "conservative") -> list[PricedOffer]:
    """Priced offers in `regions` carrying one of `gpus` (None = any GPU); rows without on-demand are skipped."""
    _check_discount("reserved_1y_discount", reserved_1y_discount)
    _check_discount("reserved_3y_discount", reserved_3y_discount)
    if spot_basis not in SPOT_BASES:
        raise ValueError(f"spot_basis must be one of {', '.join(SPOT_BASES)}, got {spot_basis!r}")
    return [price_offer(o, reserved_1y_discount=reserved_1y_discount,
                        reserved_3y_discount=reserved_3y_discount, spot_basis=spot_basis)
            for o in _matches(table, regions, gpus) if o.on_demand_usd_per_hour is not None]


def skipped_offers(table: PriceTable, regions: Iterable[str], gpus: Iterable[str] | None) -> list[Offer]:
    """Rows `offers_for` leaves out because they have no on-demand price (e.g. p5e, g6e in ap-northeast-3)."""
    return [o for o in _matches(table, regions, gpus) if o.on_demand_usd_per_hour is None]
