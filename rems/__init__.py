"""rems-engine: the REMS workflow engine (domain, services, adapters, CLI)."""
