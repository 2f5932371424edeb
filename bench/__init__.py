"""Benchmarks of the exporter (see bench/bench.py); not part of the installed package."""
