"""Use cases: one function each, one transaction each, each validating its input."""
