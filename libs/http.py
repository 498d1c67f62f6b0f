"""HTTP conventions shared by every service: error shapes, health, optimistic concurrency.

Errors a person can act on come back as 4xx with a Japanese `detail` and a stable `code`;
stale writes are 409 (the client sends the version it saw in `If-Match`, taken from the
`ETag` of its last read).
"""

import logging
import re
import uuid
from collections.abc import Callable

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from contracts.envelope import TRACEPARENT_PATTERN
from libs.commands import Context
from libs.domain import DomainError
from libs.eventstore import ConcurrencyError

log = logging.getLogger(__name__)

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,12})"?$')
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)


def etag(version: int) -> str:
    return f'"{version}"'


def if_match(value: str | None = Header(default=None, alias="If-Match")) -> int | None:
    """The stream version a client decided on, from `If-Match: "<version>"` (optional)."""
    if value is None:
        return None
    match = _ETAG.match(value.strip())
    if not match:
        raise HTTPException(422, detail='If-Match は "<版数>" の形式で指定してください（例: "3"）。')
    return int(match.group(1))


def request_context(organisation: str) -> Callable[[Request], Context]:
    """FastAPI dependency: the Context of one request.

    A caller may continue a flow with `X-Correlation-ID` and a trace with `traceparent`
    (W3C); anything malformed is ignored rather than trusted.
    """

    def dependency(request: Request) -> Context:
        correlation = request.headers.get("X-Correlation-ID", "")
        traceparent = request.headers.get("traceparent")
        try:
            correlation_id = uuid.UUID(correlation)
        except ValueError:
            correlation_id = uuid.uuid4()
        return Context(
            organisation=organisation,
            # Until authentication lands (privacy issue), the actor is recorded as unauthenticated.
            actor="unauthenticated",
            correlation_id=correlation_id,
            traceparent=traceparent if traceparent and _TRACEPARENT.match(traceparent) else None,
        )

    return dependency


def install_error_handlers(app: FastAPI) -> None:
    """Map domain and concurrency errors to 4xx; never leak internals in a 500."""

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=exc.status)

    @app.exception_handler(ConcurrencyError)
    async def conflict(_: Request, exc: ConcurrencyError) -> JSONResponse:
        return JSONResponse(
            {
                "detail": "この記録は他の操作で更新されています。最新の内容を読み込んでからやり直してください。",
                "code": "version_conflict",
                "expected_version": exc.expected_version,
            },
            status_code=409,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Type only: the message of an arbitrary exception may quote personal data.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return JSONResponse(
            {
                "detail": "内部エラーが発生しました。時間をおいて再度お試しください。",
                "code": "internal_error",
            },
            status_code=500,
        )
