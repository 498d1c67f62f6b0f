"""A service's case register (ケース一覧): every case it holds, filtered, sorted, paged, searchable.

The register is a read model in the service's own database, written by the write path in the
command's transaction (`commands.execute` saves the aggregate's `register(state)` entry), so it is
never behind the cases it lists, and it rebuilds from the event store to the same rows (`rebuild`).

Search by name (kanji or kana, full- or half-width, hiragana or katakana), birth date or phone
works over sealed data through a keyed blind index: the register stores HMAC tokens of the
normalised terms (libs.text), never the terms, under a key derived from the service's
key-encryption key. Erasing a person deletes their tokens with their key. Matching is on whole
terms (a family name, a given name, the full name, a birth date, a phone number): what a blind
index can answer without revealing more.

Who may list: the workers of the organisation holding the cases, each seeing their own
organisation's cases. The register shows no personal data; opening a case is a recorded read.
Worklists are named register queries with a written definition (`Worklist`).

A line's consent expiry has a second source: the consent is its own aggregate, whose stream
writes the expiry under the case key (`Aggregate.consent_expires_on`), and every line of that key
shows it when read. Coordination notes a consent before it opens the case, and several of its
cases may share a key, so the consent never waits for a line nor has to find them all.
"""

import base64
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from contracts.envelope import CODE_PATTERN
from contracts.events import DISTRICT_PATTERN
from contracts.glossary import IssueTag, Program, label_ja
from libs.auth import Principal
from libs.authz import Decision, enforce
from libs.directory import Directory
from libs.domain import Aggregate, InvalidCommand, NotFound
from libs.eventstore import EventStore, RegisterQuery, RegisterRow, RegisterSort, Session, sort_value
from libs.fields import Day
from libs.http import CallerDep
from libs.text import query_terms

MAX_PAGE = 200


class RegisterLine(BaseModel):
    case_id: uuid.UUID
    case_key: uuid.UUID | None
    status: str
    status_label: str
    organisation: str
    worker: str | None = Field(description="担当者（ケースを開いた職員、引継ぎ後は引き継いだ職員）")
    district: str | None
    issue_tags: list[str]
    issue_labels: list[str]
    opened_on: date | None
    last_activity_on: date | None
    due_on: date | None = Field(description="次の期日（見直し・フォローアップなど）")
    overdue: bool
    version: int
    consent_expires_on: date | None = Field(
        default=None,
        description="本人の有効な同意（撤回されていないもの）のうち最も遅い有効期限（同意を扱う事業のみ）",
    )


class RegisterPage(BaseModel):
    cases: list[RegisterLine]
    next_cursor: str | None = Field(description="続きがある場合、次のページの cursor に渡す値")


@dataclass(frozen=True)
class Worklist:
    """A question a worker asks every morning, answered from the register. Its definition is
    served beside its count and its cases, so what a number means is written where it is shown."""

    name: str
    label: str
    definition: str
    narrow: Callable[[RegisterQuery, date, Principal], RegisterQuery]


def worklists_of(open_statuses: tuple[str, ...]) -> tuple[Worklist, ...]:
    """The worklists every program has (its own come on top: `RegisterSource.worklists`)."""
    return (
        Worklist(
            "my_cases",
            "私のケース",
            "自分が担当者（ケースを開いた職員）で、終結していないケース。",
            lambda q, _, who: replace(q, status=open_statuses, worker=who.user),
        ),
        Worklist(
            "overdue",
            "期日を過ぎたケース",
            "次の期日（支援プランの見直し日など）が今日より前で、終結していないケース。",
            lambda q, today, _: replace(q, status=open_statuses, overdue_on=today),
        ),
        Worklist(
            "quiet_30_days",
            "30日以上動きのないケース",
            "最後の記録（受付・面談・支援・連絡などの日付）が30日以上前で、終結していないケース。",
            lambda q, today, _: replace(q, status=open_statuses, quiet_since=today - timedelta(days=30)),
        ),
    )


def consents_expiring(open_statuses: tuple[str, ...], consents: str) -> Worklist:
    """同意の有効期限が30日以内: for the programs whose aggregates show a consent expiry on their
    lines (libs.domain.Aggregate.consent_expires_on); `consents` names the consents that count
    there, so the definition says what the program's own rule is."""
    return Worklist(
        "consents_expiring_30_days",
        "同意の有効期限が30日以内のケース",
        f"本人の{consents}のうち最も遅い有効期限が、今日から30日後まで（今日と30日後を含む）の間にある、"
        "終結していないケース。撤回された同意や期限を過ぎた同意は数えません（新しい同意で期限が"
        "延びれば一覧から外れます）。期限の近い順。",
        lambda q, today, _: replace(
            q,
            status=open_statuses,
            consent_expires_from=today,
            consent_expires_by=today + timedelta(days=30),
            sort=RegisterSort.CONSENT_EXPIRY,
            descending=False,
        ),
    )


@dataclass(frozen=True)
class RegisterSource:
    """What one service contributes: its program, who may list, how its statuses read, which of
    them are still open, and the worklists particular to the program."""

    program: Program
    may_list: Callable[[Principal, Directory], Decision]
    status_labels: dict[str, str]
    open_statuses: tuple[str, ...]
    worklists: tuple[Worklist, ...] = ()

    def all_worklists(self) -> dict[str, Worklist]:
        return {w.name: w for w in (*worklists_of(self.open_statuses), *self.worklists)}


class WorklistView(BaseModel):
    name: str
    label: str
    definition: str = Field(description="この一覧に入るケースの定義")
    count: int


def _cursor(row: RegisterRow, query: RegisterQuery) -> str:
    raw = json.dumps([sort_value(row, query).isoformat(), str(row.case_id)])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _after(cursor: str | None) -> tuple[date, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        value, case_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return date.fromisoformat(value), uuid.UUID(case_id)
    except (ValueError, TypeError):
        raise InvalidCommand(
            "invalid_cursor", "cursor は前のページの next_cursor をそのまま渡してください。"
        ) from None


def router(source: RegisterSource) -> APIRouter:
    """`GET /cases` on a service: its register, for the workers of the holding organisation."""
    routes = APIRouter(tags=["cases"])
    Code = Annotated[str | None, Query(pattern=CODE_PATTERN)]

    async def lister(request: Request, caller: CallerDep) -> Any:
        """The service's runtime, once the caller is one who may list (else 403)."""
        runtime = request.app.state.runtime
        enforce(
            source.may_list(caller.principal, runtime.directory),
            caller.principal,
            "list_cases",
            "cases",
            hide=False,
        )
        return runtime

    Runtime = Annotated[Any, Depends(lister)]

    @routes.get(
        "/cases",
        response_model=RegisterPage,
        summary="ケース一覧（自組織のケース。絞り込み・並べ替え・氏名等の検索）",
    )
    async def register(
        runtime: Runtime,
        caller: CallerDep,
        status: Annotated[list[str] | None, Query(description="状態（複数可）")] = None,
        worker: Code = None,
        district: Annotated[str | None, Query(pattern=DISTRICT_PATTERN)] = None,
        issue_tag: Annotated[IssueTag | None, Query(description="課題")] = None,
        opened_from: Annotated[Day | None, Query(description="受付・開始日がこの日以降")] = None,
        opened_to: Annotated[Day | None, Query(description="受付・開始日がこの日以前")] = None,
        overdue: Annotated[bool, Query(description="期日を過ぎたものだけ")] = False,
        consent_expires_by: Annotated[
            Day | None,
            Query(description="有効な同意の期限が今日からこの日までのものだけ（期限切れ・撤回済みは除く）"),
        ] = None,
        q: Annotated[
            str | None,
            Query(min_length=1, max_length=100, description="氏名（漢字・かな）、生年月日、電話番号で検索"),
        ] = None,
        sort: Annotated[RegisterSort, Query()] = RegisterSort.OPENED,
        order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> RegisterPage:
        today = runtime.clock.today()
        store: EventStore = runtime.store
        query = RegisterQuery(
            organisation=caller.principal.organisation,
            status=tuple(status or ()),
            worker=worker,
            district=district,
            issue_tag=issue_tag.value if issue_tag else None,
            opened_from=opened_from,
            opened_to=opened_to,
            overdue_on=today if overdue else None,
            consent_expires_from=today if consent_expires_by else None,
            consent_expires_by=consent_expires_by,
            sort=sort,
            descending=order == "desc",
            after=_after(cursor),
            limit=limit + 1,
        )
        async with store.reading() as session:
            if q is not None:
                # Nothing searchable typed: a token that matches nothing, so the answer is empty.
                tokens = tuple(session.blind(t) for t in query_terms(q)) or (b"",)
                query = replace(query, tokens=tokens)
            rows = await session.register(query)
        return _page(source, rows, query, limit, today)

    @routes.get(
        "/worklists",
        response_model=list[WorklistView],
        summary="ワークリスト（今日確認すべきケースの件数と定義）",
    )
    async def worklists(runtime: Runtime, caller: CallerDep) -> list[WorklistView]:
        today = runtime.clock.today()
        everything = RegisterQuery(organisation=caller.principal.organisation)
        async with runtime.store.reading() as session:
            return [
                WorklistView(
                    name=w.name,
                    label=w.label,
                    definition=w.definition,
                    count=await session.register_count(w.narrow(everything, today, caller.principal)),
                )
                for w in source.all_worklists().values()
            ]

    @routes.get(
        "/worklists/{name}",
        response_model=RegisterPage,
        summary="ワークリストのケース（最後の記録の古い順。同意の期限のリストは期限の近い順）",
    )
    async def worklist(
        runtime: Runtime,
        caller: CallerDep,
        name: Annotated[str, Path(pattern=CODE_PATTERN)],
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    ) -> RegisterPage:
        found = source.all_worklists().get(name)
        if found is None:
            raise NotFound(
                "worklist_not_found", "そのワークリストはありません。/worklists の一覧から選んでください。"
            )
        today = runtime.clock.today()
        query = found.narrow(
            RegisterQuery(
                organisation=caller.principal.organisation,
                sort=RegisterSort.LAST_ACTIVITY,
                descending=False,  # what waited longest first
                after=_after(cursor),
                limit=limit + 1,
            ),
            today,
            caller.principal,
        )
        async with runtime.store.reading() as session:
            rows = await session.register(query)
        return _page(source, rows, query, limit, today)

    return routes


async def rebuild(store: EventStore, aggregates: Iterable[Aggregate[Any]]) -> int:
    """Every register line, and the consent expiries the lines show, again from the event store
    (after a change of the register's shape or a KEK rotation), in one transaction; the lines come
    out as the write path wrote them."""
    async with store.transaction() as session:
        return await rebuild_in(session, aggregates)


async def rebuild_in(session: Session, aggregates: Iterable[Aggregate[Any]]) -> int:
    """`rebuild` inside a session someone else holds; returns the number of lines written."""
    count = 0
    await session.clear_register()
    for aggregate in aggregates:
        if aggregate.consent_expires_on is not None:
            for stream_id in await session.stream_ids(stream_type=aggregate.stream_type):
                loaded = await session.load(aggregate, stream_id)
                # As the write path: under the case key each of the stream's events was stored with.
                key = (await session.read_stream(stream_id))[0].case_key
                if key is not None:
                    await session.save_consent_expiry(key, aggregate.consent_expires_on(loaded.state))
        if aggregate.register is None:
            continue
        for stream_id in await session.stream_ids(stream_type=aggregate.stream_type):
            loaded = await session.load(aggregate, stream_id)
            entry = aggregate.register(loaded.state)
            if entry is None:
                continue
            first = (await session.read_stream(stream_id))[0].metadata
            # As the write path: the person who opened it, none if a reaction to a message did.
            worker = None if first.get("causation_id") else first.get("actor")
            await session.save_register(stream_id, entry, loaded.version, worker)
            count += 1
    return count


def _page(
    source: RegisterSource, rows: list[RegisterRow], query: RegisterQuery, limit: int, today: date
) -> RegisterPage:
    """One page of lines, and the cursor of the next if there is one (`rows` holds one more)."""
    more = len(rows) > limit
    rows = rows[:limit]
    return RegisterPage(
        cases=[
            RegisterLine(
                case_id=r.case_id,
                case_key=r.case_key,
                status=r.status,
                status_label=source.status_labels.get(r.status, r.status),
                organisation=r.organisation,
                worker=r.worker,
                district=r.district,
                issue_tags=list(r.issue_tags),
                issue_labels=[label_ja(IssueTag(t)) for t in r.issue_tags],
                opened_on=r.opened_on,
                last_activity_on=r.last_activity_on,
                due_on=r.due_on,
                overdue=r.due_on is not None and r.due_on < today,
                version=r.version,
                consent_expires_on=r.consent_expires_on,
            )
            for r in rows
        ],
        next_cursor=_cursor(rows[-1], query) if more else None,
    )
