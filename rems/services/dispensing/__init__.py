"""Authorization, confirmation and dispense: the gate's inputs, the write paths, refusals, products."""
