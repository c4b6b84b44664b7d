"""Celery workers (issue 4): reminders, expiry sweeps, notifications. Importing connects nothing."""
