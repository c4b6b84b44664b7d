"""The audit chain: who seals and when (audit_sealer), and verifying it (audit_verify); the rows
are rems/adapters/audit_chain.py's, the hash rems/domain/audit_chain.py's."""
