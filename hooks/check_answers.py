"""Refuse answer combinations the template does not support, with a clear message.

Run by Copier as the first task, in the destination, after rendering; reads the answers
file Copier has just written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ANSWERS_FILE = Path(".copier-answers.yml")


def read_answers(path: Path = ANSWERS_FILE) -> dict[str, str]:
    """Top-level `key: value` pairs of the answers file (flat YAML, no dependency needed)."""
    answers = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if ":" in line and not line.startswith((" ", "#")):
            key, value = line.split(":", 1)
            answers[key.strip()] = value.strip().strip("'\"")
    return answers


def _flat(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def problems(answers: dict[str, str]) -> list[str]:
    """Every unsupported combination in `answers`."""
    found = []
    if answers.get("with_worker") == "false" and answers.get("redis_mode") == "sentinel":
        found.append(
            "redis_mode=sentinel needs with_worker=true: Redis is only used by the worker. "
            "Answer with_worker=true, or drop redis_mode."
        )
    return found


def main() -> int:
    """Exit 1 listing every problem; 0 when the answers are supported.

    Argument 1 (optional): the raw `--data` answers as JSON, since Copier drops answers to
    questions it did not ask (e.g. redis_mode without the worker) from the answers file.
    """
    answers = read_answers()
    if len(sys.argv) > 1:
        given = json.loads(sys.argv[1] or "{}")
        answers.update({key: _flat(value) for key, value in given.items()})
    found = problems(answers)
    for problem in found:
        print(f"Unsupported answers: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
