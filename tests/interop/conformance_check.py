"""A small checker of the STU2 constraints in stu2_constraints.toml (issue 16 item 6).

`violations(body, shape)` validates a FHIR resource with the fhir.resources R4B models (when it
is one), applies the R4 core rules of its resource type to it and to every resource nested in it
(parameter.resource, contained, entry.resource, action.resource), then the rules of `shape` (an IG
profile or output shape, or a CDS Hooks card). It returns "ID: reason" strings; a rule marked
`gap` is reported by `known_gaps()` instead. Written from the rules text, not from our code.
"""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

DATA = Path(__file__).with_name("stu2_constraints.toml")
HARD = ("SHALL", "MS", "R4", "CDS", "SHOULD")  # every level is checked; a SHOULD we miss is a `gap`
_RULES = ("min", "max", "fixed", "pattern", "in", "absolute_url", "ref_type", "local_ref", "value_type",
          "max_length", "regex", "unique", "referenced_locally", "exactly_one_of", "at_most_one_of",
          "at_least_one_of", "all_of", "any_true")


@cache
def constraints() -> tuple[dict[str, Any], ...]:
    data = tomllib.loads(DATA.read_text())
    found = tuple(data["constraint"])
    for c in found:
        assert {"id", "level", "source", "applies", "text", "path"} <= c.keys(), c
        assert any(rule in c for rule in _RULES), c["id"]
    return found


def by_id(cid: str) -> dict[str, Any]:
    return next(c for c in constraints() if c["id"] == cid)


def known_gaps() -> dict[str, str]:
    return {c["id"]: c["gap"] for c in constraints() if "gap" in c}


# -- paths --------------------------------------------------------------------------------------
def _split(path: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in path:
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "["
        depth -= ch == "]"
        current += ch
    if current:
        parts.append(current)
    return parts


def _children(node: Any, name: str) -> list[Any]:
    if not isinstance(node, dict) or name not in node:
        return []
    value = node[name]
    return list(value) if isinstance(value, list) else [value]


def _descend(node: Any, name: str) -> Iterator[Any]:
    for child in _children(node, name):
        yield child
        yield from _descend(child, name)


def select(node: Any, path: str) -> list[Any]:
    """Values at a dotted path; `name[sub.path=value]` filters; `name*` descends recursively."""
    values = list(node) if isinstance(node, list) else [node]
    for part in _split(path):
        match = re.fullmatch(r"([A-Za-z_]+)(\*)?(?:\[([^=\]]*)=([^\]]*)\])?", part)
        assert match, f"bad path part {part!r} in {path!r}"
        name, deep, sub, wanted = match.groups()
        found: list[Any] = []
        for value in values:
            found.extend(_descend(value, name) if deep else _children(value, name))
        if wanted is not None:
            found = [f for f in found if wanted in [str(v) for v in (select(f, sub) if sub else [f])]]
        values = found
    return values


# -- rules --------------------------------------------------------------------------------------
def _contains(value: Any, pattern: Any) -> bool:
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(_contains(value.get(k), v) for k, v in pattern.items())
    if isinstance(pattern, list):
        return isinstance(value, list) and all(any(_contains(v, p) for v in value) for p in pattern)
    return bool(value == pattern)


def _absolute(url: Any) -> bool:
    parts = urlsplit(str(url))
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _keys(node: Any, names: list[str]) -> list[str]:
    keys = node.keys() if isinstance(node, dict) else []
    return [k for k in keys for n in names if (k.startswith(n[:-1]) if n.endswith("*") else k == n)]


def _ref_type(ref: Any, kind: str) -> bool:
    if not isinstance(ref, dict):
        return False
    reference = str(ref.get("reference", ""))
    named = re.search(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/.*)?$", reference)
    return ref.get("type") == kind if not reference else (named is not None and named.group(1) == kind)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key != "contained":
                yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _check(c: dict[str, Any], root: Any) -> list[str]:
    """One constraint on one root: the reasons it fails (empty when it holds)."""
    when = c.get("when")
    if when is not None:
        held = select(root, when["path"])
        if not held or ("equals" in when and when["equals"] not in held):
            return []
    values = select(root, c["path"]) if c["path"] else [root]
    bad: list[str] = []
    if "min" in c and len(values) < c["min"]:
        bad.append(f"{c['path']} appears {len(values)} times, at least {c['min']} wanted")
    if "max" in c and len(values) > c["max"]:
        bad.append(f"{c['path']} appears {len(values)} times, at most {c['max']} allowed")
    for v in values:
        if "fixed" in c and v != c["fixed"]:
            bad.append(f"{c['path']} is {v!r}, not {c['fixed']!r}")
        if "pattern" in c and not _contains(v, c["pattern"]):
            bad.append(f"{c['path']} {json.dumps(v)} does not contain {json.dumps(c['pattern'])}")
        if "in" in c and v not in c["in"]:
            bad.append(f"{c['path']} is {v!r}, not one of {c['in']}")
        if c.get("absolute_url") and not _absolute(v):
            bad.append(f"{c['path']} {v!r} is not an absolute URL")
        if "ref_type" in c and not _ref_type(v, c["ref_type"]):
            bad.append(f"{c['path']} {json.dumps(v)} is not a Reference to a {c['ref_type']}")
        if c.get("local_ref") and str(v).removeprefix("#") not in [str(x) for x in select(root, "contained.id")]:
            bad.append(f"{c['path']} {v!r} names no contained resource")
        if "value_type" in c:
            given = _keys(v, ["value*"])
            if given != [f"value{c['value_type']}"]:
                bad.append(f"{c['path']} carries {given or 'no value'}, not value{c['value_type']}")
        if "max_length" in c and len(str(v)) > c["max_length"]:
            bad.append(f"{c['path']} is {len(str(v))} characters, at most {c['max_length']}")
        if "regex" in c and not re.fullmatch(c["regex"], str(v)):
            bad.append(f"{c['path']} {v!r} does not match {c['regex']}")
        if c.get("referenced_locally") and f"#{v}" not in set(_strings(root)):
            bad.append(f"contained {v!r} is referred to from nowhere in the resource")
        for rule, low, high in (("exactly_one_of", 1, 1), ("at_most_one_of", 0, 1), ("at_least_one_of", 1, 99)):
            if rule in c and not low <= len(_keys(v, c[rule])) <= high:
                bad.append(f"{c['path'] or 'the resource'} has {_keys(v, c[rule])} of {c[rule]} ({rule})")
        if "all_of" in c and set(_keys(v, c["all_of"])) != set(c["all_of"]):
            bad.append(f"{c['path']} lacks {sorted(set(c['all_of']) - set(_keys(v, c['all_of'])))}")
        if "any_true" in c and not any(isinstance(v, dict) and v.get(k) is True for k in c["any_true"]):
            bad.append(f"none of {c['any_true']} is true")
    if c.get("unique") and len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
        bad.append(f"{c['path']} repeats a value")
    return bad


def _apply(c: dict[str, Any], root: Any) -> list[str]:
    roots = select(root, c["per"]) if "per" in c else [root]
    return [f"{c['id']}: {reason}" for r in roots for reason in _check(c, r)]


def rules_of(applies: str) -> list[dict[str, Any]]:
    return [c for c in constraints() if c["applies"] == applies and c["level"] in HARD and "gap" not in c]


# -- resources ----------------------------------------------------------------------------------
def nested(resource: Any) -> Iterator[dict[str, Any]]:
    """The resource and every resource inside it."""
    if not isinstance(resource, dict):
        return
    if "resourceType" in resource:
        yield resource
    for path in ("parameter.resource", "parameter.part.resource", "contained", "entry.resource"):
        for inner in select(resource, path):
            yield from nested(inner)


def fhir_model_errors(resource: dict[str, Any]) -> list[str]:
    """The fhir.resources (R4B) validation of a resource by its resourceType."""
    kind = str(resource["resourceType"])
    try:
        module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
        getattr(module, kind).model_validate(resource)
    except ValidationError as error:
        return [f"fhir.resources {kind}: {e['loc']}: {e['msg']}" for e in error.errors()]
    except (ModuleNotFoundError, AttributeError):
        return [f"fhir.resources: no R4B model of {kind}"]
    return []


def violations(body: dict[str, Any], shape: str | None = None) -> list[str]:
    """Every way `body` breaks fhir.resources, the R4 rules of its (nested) resource types, and
    the rules of `shape` (a CDS card is checked by shape only: it is no FHIR resource)."""
    found: list[str] = []
    if "resourceType" in body:
        found += fhir_model_errors(body)
        for resource in nested(body):
            for c in rules_of(str(resource["resourceType"])):
                found += _apply(c, resource)
    if shape is not None:
        assert any(c["applies"] == shape for c in constraints()), f"no constraint applies to {shape}"
        for c in rules_of(shape):
            found += _apply(c, body)
    return found


def package_resolves(bundle: dict[str, Any]) -> list[str]:
    """PKG-7: every answerValueSet of the packaged Questionnaire is a ValueSet in the Bundle."""
    value_sets = set(select(bundle, "entry.resource[resourceType=ValueSet].url"))
    wanted = select(bundle, "entry.resource[resourceType=Questionnaire].item*.answerValueSet")
    return [f"PKG-7: {url} is not in the package" for url in wanted if str(url).split("|")[0] not in value_sets]


def exercised(c: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether `c` had something to judge in `body` (its resources of the type, for a type rule): a
    rule whose path selects nothing in every body we emit proves nothing (a typo in a path, say)."""
    roots = [r for r in nested(body) if r.get("resourceType") == c["applies"]] or [body]
    for root in roots:
        for r in (select(root, c["per"]) if "per" in c else [root]):
            when = c.get("when")
            if when is not None:
                held = select(r, when["path"])
                if not held or ("equals" in when and when["equals"] not in held):
                    continue
            if c.get("max") == 0 or (select(r, c["path"]) if c["path"] else [r]):
                return True
    return False
