"""Evaluation: metrics and per-day scoring, split evaluation, results, season summaries."""
