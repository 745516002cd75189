"""The forecast: the self-hosted cost of ownership next to the API bill, month by month.

- `model`: the typed `Forecast` (forecast.json is its serialisation; the schema is generated from it);
- `tco`: cost of ownership per month (compute, platform, people, buffer);
- `bill`: the API token bill;
- `decision`: break-even and the recommendation;
- `provenance`: price sources, assumptions, warnings, quota needs;
- `build`: assembles them (`planner.forecast.build(plan, inputs)`).
"""

from planner.forecast.build import build, fleet_choice, size
from planner.forecast.model import SCHEMA_VERSION, Forecast

__all__ = ["SCHEMA_VERSION", "Forecast", "build", "fleet_choice", "size"]
