"""Celery workers (reminders, expiry sweeps): arrive with the workers issue; nothing runs here yet."""
