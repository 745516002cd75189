"""Policy pack for the stacks: rules in `stacks.policy.rules`, pack in `__main__.py`."""
