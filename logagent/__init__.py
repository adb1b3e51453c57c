"""logagent: a log shipping and analysis agent."""

__version__ = "0.1.0"
