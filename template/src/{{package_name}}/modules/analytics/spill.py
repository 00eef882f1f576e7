"""Spill files: request-log records the database could not take, kept as JSON lines.

The recorder appends here when its buffer is full or the database is still down at
shutdown, and replays the files when it starts. A writer holds an exclusive `flock` on its
file while it may still append, so a starting process only claims files no live process is
writing. A claimed file is renamed first, so two processes never replay the same file; one
left behind by a crash mid-replay is reported, not replayed again (part of it may already be
in the database).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from loguru import logger

if sys.platform != "win32":
    import fcntl

PENDING_SUFFIX = ".jsonl"
REPLAYING_SUFFIX = ".replaying"
CREATING_SUFFIX = ".creating"


def _lock(file: TextIO, *, wait: bool) -> bool:
    # Windows has no flock: there, one process per spill folder is assumed.
    if sys.platform == "win32":
        return True
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


class SpillWriter:
    """Appends JSON-ready records to this process's spill file; safe from any thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._file: TextIO | None = None

    def write(self, records: Iterable[dict[str, Any]]) -> int:
        """Append `records` and fsync them; returns how many were written."""
        lines = [json.dumps(record, ensure_ascii=False) + "\n" for record in records]
        if not lines:
            return 0
        with self._lock:
            file = self._file or self._open()
            file.writelines(lines)
            file.flush()
            os.fsync(file.fileno())
        return len(lines)

    def _open(self) -> TextIO:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"request-log-{stamp}-{os.getpid()}{PENDING_SUFFIX}"
        # Locked before it gets the name claimers look for: never claimed while written.
        creating = path.with_suffix(CREATING_SUFFIX)
        file = creating.open("a", encoding="utf-8")
        _lock(file, wait=True)
        creating.rename(path)
        self._path, self._file = path, file
        return file

    def close(self) -> None:
        """Release the file: from now on a starting process may replay it."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    @property
    def path(self) -> Path | None:
        """The file written last, if any."""
        return self._path


def claim_spill_files(directory: Path) -> list[Path]:
    """Rename every released spill file to `.replaying` and return the claimed ones."""
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
        try:
            with path.open(encoding="utf-8") as file:
                if not _lock(file, wait=False):
                    continue  # a live process still writes it
                target = path.with_suffix(REPLAYING_SUFFIX)
                path.rename(target)
        except OSError:
            continue  # another process claimed it first
        claimed.append(target)
    return claimed


def read_spill_file(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a spill file, in order; a damaged line is logged and skipped."""
    # Damaged bytes become U+FFFD: the line then fails to parse and is reported, not the file.
    with path.open(encoding="utf-8", errors="replace") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except ValueError:
                logger.error(
                    "request-log spill file {} line {} is not JSON: {}", path, number, line
                )
