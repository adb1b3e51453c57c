"""Sources: one module (or package) per kind of input, registered in :mod:`logagent.registry`."""
