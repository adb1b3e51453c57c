"""Sinks: one module (or package) per destination, registered in :mod:`logagent.registry`."""
