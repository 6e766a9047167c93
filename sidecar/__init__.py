"""agent-sidecar: observability and cost governance for LLM agent services."""

__version__ = "0.1.0"
