"""REMS programs and state machines, declared as data (imports only transitions and the stdlib)."""
