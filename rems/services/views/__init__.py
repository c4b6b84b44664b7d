"""Read models for the entry points: an actor's records, a patient's status, staff queues, the dashboard's lists."""
