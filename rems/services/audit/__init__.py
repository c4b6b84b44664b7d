"""The audit chain: appending, sealing and verifying."""
