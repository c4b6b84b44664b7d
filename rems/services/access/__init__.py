"""API tokens and dashboard sign-in sessions."""
