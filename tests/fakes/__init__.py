"""In-memory implementations of rems.services.ports (issue 19 item 1), for service tests that need
no store: `FakeStore` keeps the committed records, `FakeUnitOfWork` is one transaction over it."""

from tests.fakes.uow import FakeStore, FakeUnitOfWork

__all__ = ["FakeStore", "FakeUnitOfWork"]
