"""Monte Carlo bands: how likely each answer is, not three scenarios.

- the plan's `uncertainty` section (what is uncertain and how, with its defaults) is
  `planner.plan.schema.Uncertainty`;
- `draws`: the sampled values, one row per draw, from the plan's seed;
- `bands`: each draw re-sizes the fleet and re-costs both paths; percentiles and probabilities.
"""
