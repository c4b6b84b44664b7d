"""The interop routers: FHIR R4, CDS Hooks and NCPDP SCRIPT over the same gate and services (issue
19 item 4: each router with the package whose wire format it serves)."""
