"""Spill files: request-log records the database could not take, kept as JSON lines.

The recorder appends here when its buffer is full or the database is still down at
shutdown, and replays the files when it starts. A file being replayed is renamed first, so
two processes never replay the same file; one left behind by a crash mid-replay is reported,
not replayed again (part of it may already be in the database).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger

PENDING_SUFFIX = ".jsonl"
REPLAYING_SUFFIX = ".replaying"


class SpillWriter:
    """Appends JSON-ready records to this process's spill file; safe from any thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._path: Path | None = None

    def write(self, records: Iterable[dict[str, Any]]) -> int:
        """Append `records` and fsync them; returns how many were written."""
        lines = [json.dumps(record, ensure_ascii=False) + "\n" for record in records]
        if not lines:
            return 0
        with self._lock:
            if self._path is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
                self._path = self.directory / f"request-log-{stamp}-{os.getpid()}{PENDING_SUFFIX}"
            with self._path.open("a", encoding="utf-8") as file:
                file.writelines(lines)
                file.flush()
                os.fsync(file.fileno())
        return len(lines)

    @property
    def path(self) -> Path | None:
        """The file written so far, if any."""
        return self._path


def claim_spill_files(directory: Path) -> list[Path]:
    """Rename every pending spill file to `.replaying` (atomic) and return the claimed ones."""
    if not directory.is_dir():
        return []
    interrupted = sorted(directory.glob(f"*{REPLAYING_SUFFIX}"))
    if interrupted:
        logger.warning(
            "request-log spill files from an interrupted replay were left as they are "
            "(part of them may already be stored); rename them to *{} to replay: {}",
            PENDING_SUFFIX,
            ", ".join(str(path) for path in interrupted),
        )
    claimed = []
    for path in sorted(directory.glob(f"*{PENDING_SUFFIX}")):
        target = path.with_suffix(REPLAYING_SUFFIX)
        try:
            path.rename(target)
        except OSError:
            continue  # another process claimed it first
        claimed.append(target)
    return claimed


def read_spill_file(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a spill file, in order; a damaged line is logged and skipped."""
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                logger.error("request-log spill file {} line {} is not JSON: {}", path, number, line)
