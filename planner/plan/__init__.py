"""The plan file: what a user writes, validated by pydantic.

- `schema`: the pydantic models (`Plan` and its parts);
- `resolve`: catalog, region and API-model names resolved to canonical ids;
- `errors`: pydantic errors turned into one-line `UserError`s (file, line, field path), with
  validator sub-paths carried as data (`FieldError.path`);
- `reader`: an untrusted file read into a YAML node tree and data.

`load(path)` returns a `Plan` or raises `UserError` naming the file, the line (where the YAML has
one), the field path and what is wrong, with the closest valid value where there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from planner.errors import UserError
from planner.plan.errors import FieldError, line_of, user_error
from planner.plan.reader import read_yaml
from planner.plan.resolve import aws_regions
from planner.plan.schema import (MONTH_RE, PURCHASE_OPTIONS, ApiModelRef, Constraints, Costs, HfConfigModel, Plan,
                                 Pricing, Scenarios, Slo, Traffic, Uncertainty, Workload)

__all__ = ["ApiModelRef", "Constraints", "Costs", "FieldError", "HfConfigModel", "MONTH_RE", "PURCHASE_OPTIONS",
           "Plan", "Pricing", "Scenarios", "Slo", "Traffic", "Uncertainty", "Workload", "aws_regions", "load", "parse",
           "workload_model_spec"]


def workload_model_spec(workload: Workload, models: dict):
    """The ModelSpec a workload is sized with: read from its hf_config when the plan loaded, else the
    catalog's `models[model]`."""
    return workload._model_spec if workload._model_spec is not None else models[workload.model]


def parse(data: Any, *, file: str = "<plan>", root: yaml.Node | None = None) -> Plan:
    """Validate an already-parsed plan (a dict) and return a `Plan`."""
    if not isinstance(data, dict):
        raise UserError("a plan is a YAML mapping (name, start, horizon_months, constraints, "
                        "workloads, costs)", file=file)
    if "file" in data:  # set by load(), never by the user
        raise UserError("unknown field (the plan's file is the one it is read from)", file=file,
                        field="file", line=line_of(root, ("file",)))
    try:
        return Plan.model_validate({**data, "file": file})
    except ValidationError as exc:
        raise user_error(exc, Plan, file=file, root=root) from None


def load(path: str | Path) -> Plan:
    """Read and validate a plan file; raise `UserError` naming the file, line and field."""
    doc = read_yaml(path)
    if doc.data is None:
        raise UserError("is empty", file=doc.file)
    return parse(doc.data, file=doc.file, root=doc.root)
