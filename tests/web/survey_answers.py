"""The pomalidomide patient survey's right answers, as the dashboard's form posts them (issue 16 item 3).

From the program's questionnaire file (workflows/programs/questionnaires/pomalidomide.toml), which
restates R20's safe-use facts: a page that records a survey must answer its knowledge questions."""

POMALIDOMIDE = {"share": "false", "donate-blood": "false",
                "return-unused": "Return them to the pharmacy or the program",
                "pregnancy-stop": "Stop taking it and call the prescriber at once"}
FORM = {f"answers.{link_id}": answer for link_id, answer in POMALIDOMIDE.items()}
