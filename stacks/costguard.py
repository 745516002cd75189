"""CostGuard: a monthly AWS Budget at the forecast's cost of this stack, and health alarms.

The budget's limit is what the forecast costs for everything the stack creates in its month
(compute + platform: instances, NAT gateways, load balancer, endpoints, disks, logs, alarms,
data transfer; `planner.provision.FleetSpec.budget_usd_month`); it alerts at 80 % and 100 %,
forecasted and actual. It counts the costs tagged with this stack's
`stack` tag, so that tag must be activated as a cost allocation tag (Billing console, once per
account). Alarms on unhealthy and on no healthy hosts notify the same SNS topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pulumi
import pulumi_aws as aws

THRESHOLDS_PERCENT = (80, 100)
NOTIFICATION_TYPES = ("FORECASTED", "ACTUAL")


@dataclass
class CostGuardArgs:
    budget_name: str
    budget_usd_month: float
    cost_tag_key: str
    cost_tag_value: str
    alert_emails: tuple[str, ...]
    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]


def budget_limit_usd(budget_usd_month: float) -> str:
    """The budget limit: the forecast's cost of the stack, rounded once, to the cent."""
    value = Decimal(str(budget_usd_month)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value <= 0:
        raise pulumi.RunError(f"the forecast's cost of this stack is {value} USD; a budget needs a positive limit")
    return str(value)


class CostGuard(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CostGuardArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-planner:stacks:CostGuard", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        topic = aws.sns.Topic(f"{name}-alerts", opts=child)
        aws.sns.TopicPolicy(f"{name}-alerts-policy", arn=topic.arn, policy=topic.arn.apply(lambda arn: json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "BudgetsAndAlarmsPublish", "Effect": "Allow",
                           "Principal": {"Service": ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"]},
                           "Action": "sns:Publish", "Resource": arn}],
        })), opts=child)
        for i, email in enumerate(args.alert_emails):
            aws.sns.TopicSubscription(f"{name}-alerts-email-{i}", topic=topic.arn, protocol="email",
                                      endpoint=email, opts=child)

        notifications = [
            {"comparison_operator": "GREATER_THAN", "notification_type": kind, "threshold": float(pct),
             "threshold_type": "PERCENTAGE", "subscriber_sns_topic_arns": [topic.arn]}
            for kind in NOTIFICATION_TYPES for pct in THRESHOLDS_PERCENT
        ]
        self.budget = aws.budgets.Budget(
            f"{name}-budget", name=args.budget_name, budget_type="COST",
            limit_amount=budget_limit_usd(args.budget_usd_month), limit_unit="USD", time_unit="MONTHLY",
            cost_filters=[{"name": "TagKeyValue", "values": [f"user:{args.cost_tag_key}${args.cost_tag_value}"]}],
            notifications=notifications, opts=child)

        dimensions = {"LoadBalancer": args.load_balancer_arn_suffix, "TargetGroup": args.target_group_arn_suffix}
        aws.cloudwatch.MetricAlarm(
            f"{name}-unhealthy-hosts", alarm_description="At least one model server fails its health check",
            namespace="AWS/ApplicationELB", metric_name="UnHealthyHostCount", dimensions=dimensions,
            statistic="Maximum", period=60, evaluation_periods=5, threshold=0,
            comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
            alarm_actions=[topic.arn], ok_actions=[topic.arn], opts=child)
        aws.cloudwatch.MetricAlarm(
            f"{name}-no-healthy-hosts", alarm_description="No model server is healthy: the endpoint is down",
            namespace="AWS/ApplicationELB", metric_name="HealthyHostCount", dimensions=dimensions,
            statistic="Minimum", period=60, evaluation_periods=3, threshold=1,
            comparison_operator="LessThanThreshold", treat_missing_data="breaching",
            alarm_actions=[topic.arn], ok_actions=[topic.arn], opts=child)

        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn, "budget_limit_usd": self.budget.limit_amount})
