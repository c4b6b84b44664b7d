"""Request and response bodies every entry point shares (issue 19 item 3): the HTTP API's, which
the OpenAPI document describes field by field, the records `rems --json` prints and the dashboard's
labels; each input limit is the one rems.services.commands declares."""
