"""LLM capacity planner: from a plan file to a GPU fleet, a cost forecast and the API bill beside it.

Data flows one way: plan -> demand -> perf -> fleet -> forecast -> report / stacks.
"""

__version__ = "0.1.0"
