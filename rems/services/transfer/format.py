"""The export's open format: one NDJSON file per entity, a per-line SHA-256 list per file, and a
manifest (docs/export-import.md). Rows are the tables' columns by name; instants are ISO 8601 UTC
with microseconds and `Z`, dates YYYY-MM-DD, JSON columns as JSON.

Nothing here reads the clock; the caller passes `exported_at`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rems.domain.errors import InvalidInput

FORMAT = "rems-program-export"
FORMAT_VERSION = 2
MANIFEST = "manifest.json"
AUDIT = "audit_entries"  # the chain segment (seq, prev_hash, hash and, when exported, the content)
GATE = "gate_answers"  # the gate's answer for each open authorization at `exported_at`
# The record files, in an order where every foreign key points to an earlier file; each is named
# as the table that holds it (rems/adapters/transfer.py reads and writes them).
RECORDS: tuple[str, ...] = (
    "persons", "person_identifiers",
    "prescribers", "pharmacies",
    "certifications", "patients",
    "readmission_decisions", "ppafs",
    "pregnancy_tests", "patient_surveys",
    "prescriptions", "prescriber_surveys",
    "confirmations", "dispenses",
    "pregnancy_reports",
    # format 2 (issue 17): lab results, the lifecycle recorded by administrators, relaxations,
    # every allowance a waiver made (the reconciliation list) and the forms' answers (issue 16.3)
    "lab_results", "program_status_changes",
    "relaxation_activations", "waiver_uses",
    "form_responses",  # the answers of every form, failed surveys included (16.3)
)
FILES = (*RECORDS, AUDIT, GATE)


def line_of(document: Mapping[str, Any]) -> str:
    """One NDJSON line: compact, keys in the order given, ASCII."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=True)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Bundle:
    """An export in memory: each file's lines (without newlines) and the manifest."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    def records(self, name: str) -> Iterable[tuple[int, Any]]:
        """(line number from 1, parsed JSON) of one file."""
        for number, text in enumerate(self.lines.get(name, []), start=1):
            yield number, json.loads(text)


def content_of(lines: list[str]) -> bytes:
    return "".join(f"{text}\n" for text in lines).encode("ascii")


def describe(bundle: Bundle) -> dict[str, Any]:
    """The manifest's `files` entry: per file, its line count, SHA-256 and its lines' SHA-256 file's."""
    files = {}
    for name in FILES:
        lines = bundle.lines.get(name, [])
        digests = [sha256(text.encode("ascii")) for text in lines]
        files[f"{name}.ndjson"] = {"lines": len(lines), "sha256": sha256(content_of(lines)),
                                   "line_sha256_file": f"{name}.ndjson.sha256",
                                   "line_sha256_file_sha256": sha256(content_of(digests))}
    return files


def write(bundle: Bundle, directory: Path) -> list[Path]:
    """Write every file and the manifest (last); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        lines = bundle.lines.get(name, [])
        for path, data in ((directory / f"{name}.ndjson", content_of(lines)),
                           (directory / f"{name}.ndjson.sha256",
                            content_of([sha256(text.encode("ascii")) for text in lines]))):
            path.write_bytes(data)
            written.append(path)
    manifest = directory / MANIFEST
    manifest.write_text(json.dumps(bundle.manifest, indent=2) + "\n", encoding="utf-8")
    return [*written, manifest]


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInput(MANIFEST, f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise InvalidInput(MANIFEST, "is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(f"{MANIFEST}.format", f"must be {FORMAT!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(f"{MANIFEST}.format_version", f"this engine reads version {FORMAT_VERSION}")
    if not isinstance(manifest.get("files"), dict):
        raise InvalidInput(f"{MANIFEST}.files", "required")
    return manifest


def _read_lines(directory: Path, name: str) -> bytes:
    try:
        return (directory / name).read_bytes()
    except OSError as error:
        raise InvalidInput(name, f"cannot read it: {error.strerror}") from None


def _checked(directory: Path, file: str, expected: Mapping[str, Any]) -> list[str]:
    """The file's lines, after its line hashes, then each line, then the whole file match the
    manifest; InvalidInput naming the file and the first line that differs."""
    digest_file = str(expected.get("line_sha256_file", ""))
    digests_data = _read_lines(directory, digest_file)
    if sha256(digests_data) != expected.get("line_sha256_file_sha256"):
        raise InvalidInput(digest_file, "its SHA-256 does not match the manifest: the file was changed")
    digests = digests_data.decode("ascii", errors="replace").splitlines()
    data = _read_lines(directory, file)
    try:
        lines = data.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise InvalidInput(file, "is not ASCII NDJSON as exported") from None
    if lines and lines[-1] == "":
        lines.pop()
    for number, text in enumerate(lines, start=1):
        if number > len(digests) or sha256(text.encode("ascii")) != digests[number - 1]:
            raise InvalidInput(f"{file}:{number}", f"line {number} of {file} does not match the "
                                                   "manifest's hash: it was changed or inserted")
    if len(lines) != len(digests) or len(lines) != expected.get("lines"):
        raise InvalidInput(file, f"{len(lines)} lines, the manifest lists {expected.get('lines')}: "
                                 "lines were removed or added")
    if sha256(data) != expected.get("sha256"):
        raise InvalidInput(file, "its SHA-256 does not match the manifest")
    return lines


def read(directory: Path) -> Bundle:
    """An export read back, every file checked against the manifest before anything is parsed."""
    manifest = _read_manifest(directory)
    bundle = Bundle(manifest=manifest)
    for name in FILES:
        file = f"{name}.ndjson"
        expected = manifest["files"].get(file)
        if not isinstance(expected, dict):
            raise InvalidInput(f"{MANIFEST}.files", f"{file} is not listed")
        bundle.lines[name] = _checked(directory, file, expected)
    for name in bundle.lines:
        for number, text in enumerate(bundle.lines[name], start=1):
            try:
                json.loads(text)
            except ValueError:
                raise InvalidInput(f"{name}.ndjson:{number}", "is not JSON") from None
    return bundle
