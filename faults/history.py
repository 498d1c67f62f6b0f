"""The history: every operation the workload tried, and what the client learned of its outcome.

Jepsen's distinction matters here: an operation that timed out or got a 5xx may or may not have
taken effect, so the checker must accept either for it (`unknown`), while an acknowledged one
(`ok`) must be in the stores and a definitely refused one (`failed`) must not.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Outcome(StrEnum):
    OK = "ok"
    FAILED = "failed"  # a 4xx, or the connection was refused: nothing was sent or it was rejected
    UNKNOWN = "unknown"  # timeout, reset after sending, 5xx: it may or may not have happened


@dataclass
class Op:
    """One HTTP command. Its id travels as X-Correlation-ID, so every event it caused carries it."""

    service: str
    command: str
    path: str
    op_id: uuid.UUID = field(default_factory=uuid.uuid4)
    created: dict[str, str] = field(default_factory=dict)
    affects: str | None = None
    start: float = 0.0
    end: float = 0.0
    outcome: Outcome | None = None
    status: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "op_id": str(self.op_id), "outcome": str(self.outcome)}


class History:
    """Append-only list of operations, also written to a JSON Lines file as they finish."""

    def __init__(self, path: Path | None = None) -> None:
        self.ops: list[Op] = []
        self.path = path
        self.began = time.monotonic()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")

    def add(self, op: Op) -> None:
        self.ops.append(op)
        if self.path is not None:
            with self.path.open("a") as out:
                out.write(json.dumps(op.to_json(), ensure_ascii=False) + "\n")

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for op in self.ops if op.outcome is outcome)
