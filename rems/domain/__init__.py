"""The domain: pure code, no I/O, no clock (time is always an argument)."""
