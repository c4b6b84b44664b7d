"""Notification channels (issue 4): a port and its implementations (SMTP, webhook, outbox)."""
