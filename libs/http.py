"""HTTP conventions shared by every service: error shapes, health, optimistic concurrency.

Errors a person can act on come back as 4xx with a Japanese `detail` and a stable `code`;
stale writes are 409 (the client sends the version it saw in `If-Match`, taken from the
`ETag` of its last read).
"""

import logging
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.envelope import TRACEPARENT_PATTERN
from libs import db
from libs.auth import Principal, TokenVerifier, authenticate
from libs.authz import check_identity
from libs.clock import BusinessClock
from libs.commands import Context
from libs.directory import Directory
from libs.domain import DomainError
from libs.eventstore import ConcurrencyError, EventStore

log = logging.getLogger(__name__)

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,12})"?$')
_TRACEPARENT = re.compile(TRACEPARENT_PATTERN)


class FieldError(BaseModel):
    """One invalid part of a request: where (`loc`, e.g. ["body", "person", "name"]) and why."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """The body of every 4xx: `detail` says what to do (Japanese) or, for a malformed request,
    lists the invalid fields; `code` is stable for programs."""

    detail: str | list[FieldError]
    code: str | None = None
    expected_version: int | None = None


# Documented on every route (libs.runtime.create_app), so the published spec tells clients every
# status they can get and its body; FastAPI alone documents only 2xx and its own 422 shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in {
        400: "本文を読み取れません（JSON・UTF-8 でない）",
        401: "認証が必要です・トークンが無効です",
        403: "この操作を行う権限がありません",
        404: "見つかりません（存在しない、または閲覧の根拠がない）",
        409: "現在の状態では行えません・他の操作で更新されています",
        422: "入力内容に誤りがあります（項目ごとの一覧、または業務上の理由と code）",
        503: "データベースに一時的に接続できません（再起動中など）。結果を確認してやり直してください",
    }.items()
}


def _encodable(value: str) -> str:
    """`value` with lone surrogates replaced: JSON may carry them (`"\\ud800"`), UTF-8 cannot."""
    return value.encode("utf-8", "replace").decode("utf-8")


def etag(version: int) -> str:
    return f'"{version}"'


async def if_match(value: str | None = Header(default=None, alias="If-Match")) -> int | None:
    """The stream version a client decided on, from `If-Match: "<version>"` (optional)."""
    if value is None:
        return None
    match = _ETAG.match(value.strip())
    if not match:
        raise HTTPException(422, detail='If-Match は "<版数>" の形式で指定してください（例: "3"）。')
    return int(match.group(1))


@dataclass(frozen=True)
class Caller:
    """Who is calling (authenticated, and borne out by the directory) and the command context
    their writes carry."""

    principal: Principal
    context: Context


class CallerDependency:
    """FastAPI dependency: authenticate the request and build its Caller.

    An async callable, so FastAPI runs it on the event loop: a sync dependency costs a hop to the
    thread pool on every request (the bench's profile counted four per command). `resolve` is the
    same, for code that has a request but no dependency injection.

    A caller may continue a flow with `X-Correlation-ID` and a trace with `traceparent`
    (W3C); anything malformed is ignored rather than trusted. No header opens anything: an
    emergency is a recorded request of its own (libs/breakglass.py).
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        clock: BusinessClock | None = None,
        directory: Callable[[], Directory] | None = None,
    ) -> None:
        """`directory`: the directory in use now (it changes while the service runs)."""
        self.verifier = verifier
        self.clock = clock
        self.directory = directory
        self._codes: tuple[Directory | None, frozenset[str] | None, frozenset[str] | None] = (
            None,
            None,
            None,
        )

    def codes(self, current: Directory | None) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """The district and organisation codes commands are checked against (None: not checked)."""
        if current is None:
            return None, None
        if self._codes[0] is not current:  # a new version: computed once, not per request
            districts = frozenset(current.districts) if current.districts else None
            self._codes = (current, districts, frozenset(current.organisations))
        return self._codes[1], self._codes[2]

    async def __call__(self, request: Request) -> Caller:
        return self.resolve(request)

    def resolve(self, request: Request) -> Caller:
        principal = authenticate(self.verifier, request)
        directory = self.directory() if self.directory is not None else None
        if directory is not None:
            check_identity(principal, directory)
        districts, organisations = self.codes(directory)
        try:
            correlation_id = uuid.UUID(request.headers.get("X-Correlation-ID", ""))
        except ValueError:
            correlation_id = uuid.uuid4()
        traceparent = request.headers.get("traceparent")
        context = Context(
            organisation=principal.organisation,
            actor=principal.user,
            correlation_id=correlation_id,
            traceparent=traceparent if traceparent and _TRACEPARENT.match(traceparent) else None,
            today=self.clock.today() if self.clock else None,
            districts=districts,
            organisations=organisations,
        )
        return Caller(principal, context)


async def current_caller(request: Request) -> Caller:
    """The authenticated caller of a request, for routes declared at module level (`CallerDep`)."""
    resolve: CallerDependency = request.app.state.caller
    return resolve.resolve(request)


async def current_store(request: Request) -> EventStore:
    """The service's event store (owned by its runtime), for module-level routes (`StoreDep`)."""
    store: EventStore = request.app.state.runtime.store
    return store


CallerDep = Annotated[Caller, Depends(current_caller)]
StoreDep = Annotated[EventStore, Depends(current_store)]
VersionDep = Annotated[int | None, Depends(if_match)]


def install_error_handlers(app: FastAPI) -> None:
    """Map domain, concurrency and validation errors to 4xx; never leak internals in a 500."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        """Where and why, never the values sent: they may be personal data, and a value with a
        lone surrogate cannot be encoded, which turned FastAPI's own 422 into a 500."""
        errors = [
            {
                "loc": [_encodable(part) if isinstance(part, str) else part for part in error["loc"]],
                "msg": _encodable(str(error["msg"])),
                "type": error["type"],
            }
            for error in exc.errors()
        ]
        return JSONResponse({"detail": errors, "code": "invalid_request"}, status_code=422)

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

    app.add_middleware(ContainUnexpectedErrors)


class ContainUnexpectedErrors:
    """Turn any unhandled exception into a plain 500 and log only its type.

    Starlette's own error handling re-raises to the server, which then prints the exception
    message and traceback; messages can quote input values, i.e. personal data.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.error("unhandled %s on %s %s", type(exc).__name__, scope.get("method"), scope.get("path"))
            if os.environ.get("KASANE_DEBUG_TRACEBACKS") == "1":  # development only: may print personal data
                log.exception("traceback")
            if started:
                return
            if db.unavailable(exc):
                # The database is restarting or unreachable: a client error would be a lie and a 500
                # says "bug". If the connection broke during COMMIT the change may have been
                # recorded, so the reason asks to look before repeating.
                response = JSONResponse(
                    {
                        "detail": "データベースに一時的に接続できません。しばらくしてから結果を確認し、反映されていなければやり直してください。",
                        "code": "temporarily_unavailable",
                    },
                    status_code=503,
                    headers={"Retry-After": "5"},
                )
                await response(scope, receive, send)
                return
            response = JSONResponse(
                {
                    "detail": "内部エラーが発生しました。時間をおいて再度お試しください。",
                    "code": "internal_error",
                },
                status_code=500,
            )
            await response(scope, receive, send)
