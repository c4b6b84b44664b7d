"""The patient surveys' right answers, as the dashboard's form posts them and as the API's
POST /v1/patient/survey takes them (issue 16 item 3).

From the programs' questionnaire files (workflows/programs/questionnaires/pomalidomide.toml,
ipledge.toml), which restate R20's (IP6's) safe-use facts: a page or a call that records a survey
must answer its knowledge questions."""

from typing import Any

POMALIDOMIDE = {"share": "false", "donate-blood": "false",
                "return-unused": "Return them to the pharmacy or the program",
                "pregnancy-stop": "Stop taking it and call the prescriber at once"}
FORM = {f"answers.{link_id}": answer for link_id, answer in POMALIDOMIDE.items()}
# The API's JSON: booleans as JSON, per program (iPLEDGE: IP6's comprehension questions, FRP only).
API: dict[str, dict[str, Any]] = {
    "pomalidomide": {k: {"false": False, "true": True}.get(v, v) for k, v in POMALIDOMIDE.items()},
    "ipledge": {"two-methods": "Two", "before-and-after": True, "birth-defects": True, "donate-blood": False,
                "share": False, "methods-used": "an IUD and condoms"}}
# R19: the pomalidomide prescriber survey's right answers (counselled; within R24's supply limits),
# posted on /web/prescriber/prescriptions/{id}/survey (the request form's box no longer stands for it).
PRESCRIBER = {"answers.counselled": "true", "answers.supply-limit": "true"}


def rx_of(location: str) -> str:
    """The prescription id of the patient page a request redirects to (?rx=...#result)."""
    return location.split("rx=")[1].split("#")[0]
