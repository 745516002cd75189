"""How AWS sells GPU hours: the facts every price, fleet and stack shares, defined once.

- `HOURS_PER_MONTH`: 730 (365 × 24 / 12), the AWS and Infracost billing convention.
- `Purchase`: the four ways an instance-hour is bought. Reserved capacity is a billing construct:
  the instances run as on-demand capacity and the reservation pays for them every hour of its term.
- `TERM_MONTHS`: how long a commitment lasts once bought.
- Reserved discounts used when a snapshot row has no reserved rate (see `pricing/__init__.py` for
  the sources of the defaults).
"""

from __future__ import annotations

import enum

HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24


class Purchase(enum.StrEnum):
    """A purchase option, in the order commitments are listed (longest first)."""

    RESERVED_3Y = "reserved_3y"
    RESERVED_1Y = "reserved_1y"
    ON_DEMAND = "on_demand"
    SPOT = "spot"

    @property
    def is_reserved(self) -> bool:
        return self in RESERVED

    @property
    def runs_as(self) -> "Purchase":
        """The capacity type the instance runs as: reserved instances run as on-demand."""
        return Purchase.ON_DEMAND if self.is_reserved else self


RESERVED = (Purchase.RESERVED_3Y, Purchase.RESERVED_1Y)
TERM_MONTHS = {Purchase.RESERVED_1Y: 12, Purchase.RESERVED_3Y: 36}
# a plan that says nothing about purchase options may buy these
DEFAULT_PURCHASE = (Purchase.RESERVED_1Y, Purchase.ON_DEMAND, Purchase.SPOT)

DEFAULT_RESERVED_1Y_DISCOUNT = 0.30  # assumption: low end of notes §4 (~30 %), Vantage "closer to 30%"
DEFAULT_RESERVED_3Y_DISCOUNT = 0.45  # assumption: low end of notes §4 (45–55 %), Vantage 3y example ~45 %
