"""Shared HTTP plumbing of the entry points on the one ASGI app (issue 19 item 4): bearer tokens to
a principal, audited and counted refusals, errors as RFC 9457 problem details; used by rems.api,
rems.web and rems.interop, and itself no entry point."""
