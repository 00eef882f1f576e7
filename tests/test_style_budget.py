"""House rule: generated Python stays plain; Jinja control tags are rare wiring points."""

from __future__ import annotations

import re

from .conftest import REPO

CONTROL_TAG = re.compile(r"\{%-?\s*\w+")
BUDGET = 40


def test_python_files_carry_fewer_than_40_jinja_control_tags() -> None:
    per_file = {}
    for path in (REPO / "template").rglob("*"):
        if path.is_file() and (path.suffix == ".py" or path.name.endswith(".py.jinja")):
            count = len(CONTROL_TAG.findall(path.read_text(encoding="utf-8")))
            if count:
                per_file[str(path.relative_to(REPO))] = count
    total = sum(per_file.values())
    assert total < BUDGET, per_file
