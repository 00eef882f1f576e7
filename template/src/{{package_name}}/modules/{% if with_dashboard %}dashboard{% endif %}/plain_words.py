"""Words a product configurator should never have to read on the dashboard.

The same list checks the dashboard's own text (the template's tests) and the text the backend
sends it: failure messages, sizing labels and reasons, runbook titles and summaries
(`tests/test_plain_words.py`). Technical names belong in a folded "for engineers" part.
"""

from __future__ import annotations

import re

JARGON = re.compile(
    r"\b(SSE|JWT|OAuth|HTTP|JSON|API|endpoint|payload|stack trace|null|undefined|"
    r"[45]\d\d|app_key|config_type|circuit|breaker)\b",
    re.IGNORECASE,
)
# Setting and variable names (HIAGENT_MAX_CONCURRENCY, max_connections) and SDK action names.
SETTING_NAME = re.compile(r"\b[A-Za-z]+_[A-Za-z_]+\b")


def jargon_in(text: str) -> list[str]:
    """The jargon words and setting names found in `text`."""
    found = [match.group(0) for match in JARGON.finditer(text)]
    return found + [match.group(0) for match in SETTING_NAME.finditer(text)]
