"""Robustness tests: bad input, crashes of real processes, load, missing hardware (issue 4)."""
