"""Strings made outside the templates that a patient may read, marked for the catalogues.

The error pages (rems/web/pages.py) and the sign-in notices (rems/web/login.py) pass English
text to error.html and login.html, which look it up with `translate()`: each such text must be
listed here (or marked with N_ where it is made) to be extracted by `make translations`. A text
built with a value inside (a record's id) is not in the catalogue and stays in English.
"""

from __future__ import annotations

from rems.i18n import N_

ERRORS = (  # rems/web/pages.py ShowError and Page.failed: titles and the fixed details
    N_("Not found"),
    N_("Invalid address"),
    N_("Not for your role"),
    N_("Form expired"),
    N_("Refused"),
    N_("This form is not from your current session. Reload the page and try again."),
    N_("This page is for the patient role."),
    N_("This page is for the prescriber role."),
    N_("This page is for the pharmacy role."),
    N_("This page is for the admin role."),
)
ROLES = {"patient": N_("patient"), "prescriber": N_("prescriber"), "pharmacy": N_("pharmacy"),
         "admin": N_("admin")}
RESPONDENTS = {"patient": N_("by the patient"), "guardian": N_("by a parent or guardian")}  # R6
