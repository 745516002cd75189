"""The Pulumi program that provisions the planner's GPU fleet for one environment.

`stacks.program.run()` is the program; `stacks/__main__.py` only calls it. Components:
`Network`, `Endpoint`, `GpuFleet`, `CostGuard`. Stack configuration is read once, in
`stacks.config`, which is also the one place the program asks the planner for its fleet.
"""
