"""Policy pack: `pulumi preview --policy-pack stacks/policy` (see README.md, "Policy pack").

The rules are plain functions in `stacks.policy.rules` (tests call them directly); this file
only wraps them. Before a rule sees a resource, its properties are turned from the analyzer's
read-only proxies into plain dicts and lists, with values unknown during preview replaced by
`rules.UNKNOWN`, so a rule judges what is known instead of the whole policy being skipped at
the first unknown value. A rule that fails on an input it did not foresee reports a violation.

Allowed regions come from the pack config `allowed-regions: {allowedRegions: [...]}` or,
without it, from the `allowed-regions` default tag the program sets on its provider from the
plan's constraints.regions.
"""

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

_REPO_ROOT = str(Path(__file__).resolve().parents[2])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from stacks.policy import rules  # noqa: E402


def plain(value):
    """The analyzer's proxies (pulumi_policy.proxy) as plain dicts and lists; unknowns as UNKNOWN."""
    if isinstance(value, Mapping):
        try:
            value = value["__target"]  # the proxy's own dict: reading through it raises on unknowns
        except KeyError:
            pass
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        try:
            value = value["__target"]
        except (KeyError, TypeError, IndexError):
            pass
        return [plain(v) for v in value]
    return rules.UNKNOWN if rules.is_unknown(value) else value


def _resource_policy(name, rule):
    def validate(args, report_violation):
        props = plain(args.props)
        for message in rules.guarded(name, lambda: rule(args.resource_type, props)):
            report_violation(message, None)

    return ResourceValidationPolicy(name=name, description=(rule.__doc__ or name).strip().splitlines()[0],
                                    validate=validate, enforcement_level=EnforcementLevel.MANDATORY)


def _views(args):
    views = []
    for r in args.resources:
        refs = {prop: [d.urn for d in deps] for prop, deps in (r.property_dependencies or {}).items()}
        views.append(rules.PolicyView(type=r.resource_type, props=plain(r.props), urn=r.urn,
                                      provider_props=plain(r.provider.props) if r.provider else None, refs=refs))
    return views


def _stack_policy(name, description, check, config_schema=None):
    def validate(args, report_violation):
        views = _views(args)
        for found in rules.guarded(name, lambda: check(args, views)):
            message, urn = found if isinstance(found, tuple) else (found, "")
            report_violation(message, urn or None)

    return StackValidationPolicy(name=name, description=description, validate=validate,
                                 enforcement_level=EnforcementLevel.MANDATORY, config_schema=config_schema)


def _allowed(args, views):
    configured = tuple(plain(args.get_config() or {}).get("allowedRegions") or ())
    return rules.allowed_regions(views, configured or rules.allowed_regions_from_tags(views))


PolicyPack(
    name="llm-fleet-baseline",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[_resource_policy(name, rule) for name, rule in rules.RESOURCE_RULES.items()] + [
        _stack_policy(name, description, lambda args, views, check=check: check(views))
        for name, (description, check) in rules.STACK_RULES.items()] + [
        _stack_policy("allowed-regions", "Every resource and provider is in the plan's allowed regions", _allowed,
                      PolicyConfigSchema(properties={"allowedRegions": {"type": "array",
                                                                        "items": {"type": "string"}}})),
    ],
)
