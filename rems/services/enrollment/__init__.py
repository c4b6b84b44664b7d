"""Enrollment and the patient's record: prescribers' and pharmacies' certification, persons, patients, contacts, facts, zones, lab results."""
