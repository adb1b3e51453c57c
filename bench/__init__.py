"""Benchmarks, each runnable alone: `python -m bench.<name>` (`make bench` runs `bench.tail`)."""
