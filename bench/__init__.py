"""Benchmarks: `python -m bench` runs the core ones; each `bench/<name>.py` runs alone too."""
