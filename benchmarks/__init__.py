"""Benchmarks of the pipeline at national scale: the data generator (``benchmarks.generate``)."""
