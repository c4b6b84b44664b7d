"""Adapters: SQLAlchemy persistence (and, later, SMTP and webhooks)."""
