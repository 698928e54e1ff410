"""The project's benchmarks (not part of the installed package). Run ``python -m benchmarks``."""
