"""Moving a program in and out (issue 17 item 8; docs/export-import.md): export a program's whole
state as NDJSON per entity with a manifest, import it into an empty engine, prove the copy (the
audit chain verifies, the gate answers every open authorization as the source did), and bulk
import existing enrollments from CSV through the ordinary use cases, with a dry run."""
