"""Migration 0007 (issue 14 item 6): the expiry sweep and the expired-record reminders read a
state within a range of expiries from an index on (state, expires_at), on both stores."""

from __future__ import annotations

from sqlalchemy import inspect

from rems.bootstrap import App


def test_the_migrated_schema_indexes_prescriptions_and_confirmations_on_state_and_expiry(app: App) -> None:
    inspector = inspect(app.engine)
    for table, name in (("prescriptions", "ix_prescriptions_state_expires"),
                        ("confirmations", "ix_confirmations_state_expires")):
        columns = {i["name"]: i["column_names"] for i in inspector.get_indexes(table)}
        assert columns.get(name) == ["state", "expires_at"], columns
