"""Request and response bodies of the HTTP API; every field is described for the OpenAPI document."""
