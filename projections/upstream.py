"""Asking the five services on the caller's behalf, with the caller's own token.

The projection service holds no personal data and no service database: a case's timeline and the
audit views are answered by each service from its own log, under its own authorisation. So the
projection forwards the caller's bearer token (and a correlation id and a
trace context) and never a token of its own: a service can only ever show what that caller may
see there, and its access records name the real reader. Each service's answer is kept apart, so
one refusal or one service that is down shows as such and hides nothing else.

Environment: KASANE_<SERVICE>_URL (default http://127.0.0.1:8001 … 8005).
"""

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request

from contracts.glossary import Program, label_ja
from contracts.programs import PROGRAMS

SERVICES: tuple[Program, ...] = tuple(p.program for p in PROGRAMS)
DEFAULT_PORTS = {p.program: p.port for p in PROGRAMS}
# What a caller's request carries that the service must see as the caller's own.
FORWARDED = ("authorization", "x-correlation-id", "traceparent")

# The state of one service's answer, as a program's line on the pages shows it.
SHOWN, METADATA, REFUSED, FORBIDDEN, UNAUTHENTICATED, UNAVAILABLE = (
    "shown",
    "metadata_only",
    "refused",
    "forbidden",
    "unauthenticated",
    "unavailable",
)
STATUS_LABELS = {
    SHOWN: "表示しています",
    METADATA: "記録の一覧のみ（内容は表示しません）",
    REFUSED: "見られません（法的根拠なし）",
    FORBIDDEN: "見られません（権限がありません）",
    UNAUTHENTICATED: "見られません（このサービスで認証されませんでした）",
    UNAVAILABLE: "取得できません（サービスに接続できません）",
}


def service_urls() -> dict[Program, str]:
    return {
        s: os.environ.get(f"KASANE_{s.value.upper()}_URL", f"http://127.0.0.1:{DEFAULT_PORTS[s]}").rstrip("/")
        for s in SERVICES
    }


@dataclass(frozen=True)
class Answer:
    """One service's answer: its state for the page, and the body when it answered 200."""

    service: Program
    state: str
    body: Any = None

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.state]

    @property
    def program_label(self) -> str:
        return label_ja(self.service)


def _state(status: int) -> str:
    return {200: SHOWN, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: REFUSED}.get(status, UNAVAILABLE)


async def ask(
    client: httpx.AsyncClient, service: Program, url: str, headers: dict[str, str], params: dict[str, str]
) -> Answer:
    try:
        response = await client.get(url, headers=headers, params=params)
    except httpx.HTTPError:
        return Answer(service, UNAVAILABLE)
    state = _state(response.status_code)
    if state != SHOWN:
        return Answer(service, state)
    try:
        return Answer(service, SHOWN, response.json())
    except ValueError:
        return Answer(service, UNAVAILABLE)


async def ask_all(
    request: Request,
    path: str,
    params: dict[str, str] | None = None,
    *,
    timeout: float = 15.0,
    services: tuple[Program, ...] = SERVICES,
) -> dict[Program, Answer]:
    """GET `path` on every service at once as the caller; one Answer per service, never an exception."""
    headers = {name: value for name in FORWARDED if (value := request.headers.get(name)) is not None}
    urls = service_urls()
    async with httpx.AsyncClient(timeout=timeout) as client:
        answers = await asyncio.gather(
            *(ask(client, s, f"{urls[s]}{path}", headers, params or {}) for s in services)
        )
    return {a.service: a for a in answers}
