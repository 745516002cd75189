"""One module per `planner` command; each exposes ``register(app)``."""
