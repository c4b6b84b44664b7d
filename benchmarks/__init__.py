"""Benchmarks of the engine (issue 8): `python -m benchmarks.run --help`. Not part of the package."""
