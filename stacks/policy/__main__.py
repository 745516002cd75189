"""Policy pack: `pulumi preview --policy-pack stacks/policy` (see README.md, "Provisioning the fleet with Pulumi").

The rules are plain functions in `stacks.policy.rules` (tests call them directly); this file
only wraps them. Allowed regions come from the pack config `allowed-regions: {allowedRegions:
[...]}` or, without it, from the `allowed-regions` default tag the program sets on its provider
from the plan's constraints.regions.
"""

import sys
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


def _resource_policy(name, rule):
    def validate(args, report_violation):
        for message in rule(args.resource_type, args.props):
            report_violation(message, None)

    return ResourceValidationPolicy(name=name, description=(rule.__doc__ or name).strip().splitlines()[0],
                                    validate=validate, enforcement_level=EnforcementLevel.MANDATORY)


def _views(args):
    views = []
    for r in args.resources:
        refs = {prop: [d.urn for d in deps] for prop, deps in (r.property_dependencies or {}).items()}
        views.append(rules.PolicyView(type=r.resource_type, props=r.props, urn=r.urn,
                                      provider_props=r.provider.props if r.provider else None, refs=refs))
    return views


def _stack_policy(name, description, check):
    def validate(args, report_violation):
        for message, urn in check(args, _views(args)):
            report_violation(message, urn or None)

    return StackValidationPolicy(name=name, description=description, validate=validate,
                                 enforcement_level=EnforcementLevel.MANDATORY,
                                 config_schema=PolicyConfigSchema(
                                     properties={"allowedRegions": {"type": "array", "items": {"type": "string"}}})
                                 if name == "allowed-regions" else None)


def _allowed(args, views):
    configured = tuple(args.get_config().get("allowedRegions") or ())
    return rules.allowed_regions(views, configured or rules.allowed_regions_from_tags(views))


PolicyPack(
    name="llm-fleet-baseline",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[_resource_policy(name, rule) for name, rule in rules.RESOURCE_RULES.items()] + [
        _stack_policy("EC2.6-vpc-flow-logs", "EC2.6: every VPC logs ALL traffic; prod keeps it a year",
                      lambda args, views: rules.ec2_6_vpc_flow_logs(views)),
        _stack_policy("AutoScaling.2-AutoScaling.6-prod-spread",
                      "AutoScaling.2/6: prod groups span two zones and several instance types",
                      lambda args, views: rules.autoscaling_2_6_multi_az_types(views)),
        _stack_policy("allowed-regions", "Every resource and provider is in the plan's allowed regions", _allowed),
    ],
)
