"""Runs: episodes and batches of them, their results, reports, metadata, baselines and validation."""
