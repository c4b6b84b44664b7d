"""What is due and telling people: the due-date finders, the sweeps, the outbox, delivery."""
