"""Interoperability (issue 9): FHIR US Medication REMS `$rems-etasu`, CDS Hooks, NCPDP SCRIPT REMS.

Everything here translates between wire formats and the engine's own gate (rems.domain.gate);
no rule is decided here that the gate does not already decide.
"""
