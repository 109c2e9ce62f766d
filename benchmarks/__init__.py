"""Benchmarks: ``python -m benchmarks [capability ...]`` (or ``make bench``)."""
