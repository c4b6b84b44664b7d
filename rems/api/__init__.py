"""The HTTP API (issue 3): FastAPI routes per role, each a thin translation into a service call."""
