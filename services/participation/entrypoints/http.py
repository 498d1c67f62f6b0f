"""Participation's HTTP API: the menu catalogue, and cases from assessment to the end of a placement."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import (
    AgeBand,
    FollowUpStatus,
    HostConcern,
    IssueTag,
    MenuKind,
    MenuStatus,
    ParticipationNeed,
    PlacementOutcome,
    label_ja,
)
from libs.fields import Day
from libs.http import Caller, etag, if_match
from libs.runtime import Runtime
from libs.text import Note
from services.participation.domain import menu, model
from services.participation.service_layer import handlers

# --- requests ---------------------------------------------------------------------------------


class MenuIn(BaseModel):
    """A menu developed with a host organisation (参加支援メニュー). Describe the place and the
    activity, never a participant: menus are shown to every program's workers."""

    model_config = ConfigDict(extra="forbid")

    title: menu.Title = Field(description="メニュー名（例: 〇〇農園での農作業体験）")
    description: Note = Field(description="活動内容")
    kind: MenuKind
    host_organisation: menu.HostCode = Field(description="受け入れ先のコード（例: farm-aozora）")
    host_name: menu.HostDisplay = Field(description="受け入れ先の表示名")
    district: menu.District = Field(description="地区コード（例: chuo-1）")
    capacity: menu.Capacity = Field(description="同時に参加できる人数")
    schedule: menu.Schedule = Field(description="日程（例: 毎週火・木 10時〜12時）")
    target_groups: list[IssueTag] = Field(
        default_factory=list, max_length=14, description="対象（空: 誰でも）"
    )


class MenuPatch(BaseModel):
    """Change some of a menu's details, its capacity, or close/reopen it (status)."""

    model_config = ConfigDict(extra="forbid")

    title: menu.Title | None = None
    description: Note | None = None
    kind: MenuKind | None = None
    host_organisation: menu.HostCode | None = None
    host_name: menu.HostDisplay | None = None
    district: menu.District | None = None
    capacity: menu.Capacity | None = None
    schedule: menu.Schedule | None = None
    target_groups: list[IssueTag] | None = Field(default=None, max_length=14)
    status: MenuStatus | None = None

    @model_validator(mode="after")
    def _something(self) -> "MenuPatch":
        if not self.model_dump(exclude_none=True):
            raise ValueError("変更する項目を1つ以上指定してください")
        return self


class AssessmentIn(BaseModel):
    """The person's needs (codes) and wishes in their own words (アセスメント)."""

    model_config = ConfigDict(extra="forbid")

    needs: list[ParticipationNeed] = Field(min_length=1, max_length=5)
    wishes: Note | None = Field(default=None, description="本人の希望（この事業所内のみで保持）")
    findings: Note | None = Field(default=None, description="アセスメントの所見（この事業所内のみで保持）")
    assessed_on: Day


class PlacementIn(BaseModel):
    """Match the person with a menu and start (マッチング・参加開始)."""

    model_config = ConfigDict(extra="forbid")

    menu_id: uuid.UUID
    arrangements: Note | None = Field(default=None, description="受け入れ先と合意した配慮事項")
    started_on: Day


class FollowUpIn(BaseModel):
    """A follow-up after placement (定着支援)."""

    model_config = ConfigDict(extra="forbid")

    status: FollowUpStatus
    note: Note | None = None
    followed_up_on: Day


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: PlacementOutcome
    note: Note | None = None
    ended_on: Day


class HostSupportIn(BaseModel):
    """The host's worry and what was done about it (受け入れ先の支援)."""

    model_config = ConfigDict(extra="forbid")

    concern: HostConcern
    worry: Note | None = Field(default=None, description="受け入れ先の悩み・困りごと")
    response: Note | None = Field(default=None, description="行った支援")
    supported_on: Day


# --- responses --------------------------------------------------------------------------------


class MenuView(BaseModel):
    menu_id: uuid.UUID
    version: int
    title: str
    description: str
    kind: MenuKind
    kind_label: str
    host_organisation: str
    host_name: str
    district: str
    capacity: int
    placed: int = Field(description="現在の参加者数")
    free_seats: int
    schedule: str
    target_groups: list[IssueTag]
    status: MenuStatus
    status_label: str
    managed_by: str
    published_on: date
    revised_on: date | None


class AssessmentView(BaseModel):
    assessment_version: int
    needs: list[ParticipationNeed]
    need_labels: list[str]
    wishes: str | None = Field(description="消去済みの場合は null")
    findings: str | None
    assessed_on: date


class FollowUpView(BaseModel):
    status: FollowUpStatus
    status_label: str
    note: str | None
    followed_up_on: date


class HostSupportView(BaseModel):
    concern: HostConcern
    concern_label: str
    worry: str | None
    response: str | None
    supported_on: date


class PlacementView(BaseModel):
    placement_id: uuid.UUID
    menu_id: uuid.UUID
    menu_kind: MenuKind
    host_organisation: str
    district: str
    arrangements: str | None
    started_on: date
    active: bool
    follow_ups: list[FollowUpView]
    host_support: list[HostSupportView]
    ended_on: date | None
    outcome: PlacementOutcome | None
    outcome_label: str | None
    end_note: str | None


class CaseView(BaseModel):
    participation_case_id: uuid.UUID
    version: int
    status: model.Status
    holder_organisation: str
    case_key: uuid.UUID
    referral_id: uuid.UUID
    coordination_case_id: uuid.UUID
    referring_organisation: str
    subject_ref: str
    referred_needs: list[ParticipationNeed]
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    opened_on: date
    assessments: list[AssessmentView]
    placements: list[PlacementView]


class Changed(BaseModel):
    participation_case_id: uuid.UUID
    version: int


class Placed(Changed):
    placement_id: uuid.UUID


class MenuChanged(BaseModel):
    menu_id: uuid.UUID
    version: int


def _menu_view(menu_id: uuid.UUID, state: menu.Menu, version: int) -> MenuView:
    current = state.current
    assert current is not None
    return MenuView(
        **current.model_dump(exclude={"menu_id"}),
        menu_id=menu_id,
        version=version,
        kind_label=label_ja(current.kind),
        placed=len(state.seats),
        free_seats=state.free_seats,
        status=state.status,
        status_label=label_ja(state.status),
        revised_on=state.revised_on,
    )


def _placement_view(p: model.Placement) -> PlacementView:
    s = p.started
    return PlacementView(
        placement_id=s.placement_id,
        menu_id=s.menu_id,
        menu_kind=s.menu_kind,
        host_organisation=s.host_organisation,
        district=s.menu_district,
        arrangements=s.arrangements,
        started_on=s.started_on,
        active=p.active,
        follow_ups=[
            FollowUpView(
                status=f.status, status_label=label_ja(f.status), note=f.note, followed_up_on=f.followed_up_on
            )
            for f in p.follow_ups
        ],
        host_support=[
            HostSupportView(
                concern=h.concern,
                concern_label=label_ja(h.concern),
                worry=h.worry,
                response=h.response,
                supported_on=h.supported_on,
            )
            for h in p.host_support
        ],
        ended_on=p.ended.ended_on if p.ended else None,
        outcome=p.ended.outcome if p.ended else None,
        outcome_label=label_ja(p.ended.outcome) if p.ended else None,
        end_note=p.ended.note if p.ended else None,
    )


def _view(case: model.Case, version: int) -> CaseView:
    opened = case.opened
    assert opened is not None
    return CaseView(
        **opened.model_dump(exclude={"needs"}),
        version=version,
        status=case.status,
        referred_needs=opened.needs,
        assessments=[
            AssessmentView(**a.model_dump(), need_labels=[label_ja(n) for n in a.needs])
            for a in case.assessments
        ],
        placements=[_placement_view(p) for p in case.placements],
    )


def routes(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    engine, directory = runtime.engine, runtime.directory
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    VersionDep = Annotated[int | None, Depends(if_match)]

    def changed(response: Response, case_id: uuid.UUID, version: int) -> Changed:
        response.headers["ETag"] = etag(version)
        return Changed(participation_case_id=case_id, version=version)

    # --- menus ---

    @app.post(
        "/menus", status_code=201, response_model=MenuChanged, tags=["menus"], summary="メニューを登録する"
    )
    async def publish_menu(body: MenuIn, response: Response, caller: CallerDep) -> MenuChanged:
        menu_id = uuid.uuid4()
        outcome = await handlers.publish_menu(engine, caller, directory, menu_id, **dict(body))
        response.headers["Location"] = f"/menus/{menu_id}"
        response.headers["ETag"] = etag(outcome.version)
        return MenuChanged(menu_id=menu_id, version=outcome.version)

    @app.get("/menus", response_model=list[MenuView], tags=["menus"], summary="メニューの一覧")
    async def list_menus(
        caller: CallerDep,
        kind: Annotated[MenuKind | None, Query()] = None,
        district: Annotated[str | None, Query(pattern=DISTRICT_PATTERN)] = None,
        status: Annotated[MenuStatus | None, Query()] = None,
    ) -> list[MenuView]:
        found = await handlers.list_menus(engine, caller, kind=kind, district=district, status=status)
        return [_menu_view(menu_id, m.state, m.version) for menu_id, m in found]

    @app.get("/menus/{menu_id}", response_model=MenuView, tags=["menus"], summary="メニューを見る")
    async def read_menu(menu_id: uuid.UUID, response: Response, caller: CallerDep) -> MenuView:
        loaded = await handlers.read_menu(engine, caller, menu_id)
        response.headers["ETag"] = etag(loaded.version)
        return _menu_view(menu_id, loaded.state, loaded.version)

    @app.patch(
        "/menus/{menu_id}",
        response_model=MenuChanged,
        tags=["menus"],
        summary="メニューを変更する（定員・内容・終了／再開）",
    )
    async def revise_menu(
        menu_id: uuid.UUID,
        body: MenuPatch,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> MenuChanged:
        changes = body.model_dump(exclude_none=True)
        outcome = await handlers.revise_menu(engine, caller, menu_id, changes, expected_version)
        response.headers["ETag"] = etag(outcome.version)
        return MenuChanged(menu_id=menu_id, version=outcome.version)

    # --- cases ---

    @app.get(
        "/cases/{case_id}",
        response_model=CaseView,
        tags=["cases"],
        summary="ケースを見る（閲覧は記録されます）",
    )
    async def read(case_id: uuid.UUID, response: Response, caller: CallerDep) -> CaseView:
        loaded = await handlers.read_case(engine, caller, case_id)
        response.headers["ETag"] = etag(loaded.version)
        response.headers["Cache-Control"] = "no-store"
        return _view(loaded.state, loaded.version)

    @app.get(
        "/referrals/{referral_id}",
        response_model=CaseView,
        tags=["cases"],
        summary="参加支援への依頼からケースを見る",
    )
    async def read_by_referral(referral_id: uuid.UUID, response: Response, caller: CallerDep) -> CaseView:
        return await read(model.case_id_for(referral_id), response, caller)

    @app.post(
        "/cases/{case_id}/assessments",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="ニーズと希望のアセスメントを記録する",
    )
    async def assess(
        case_id: uuid.UUID,
        body: AssessmentIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.assess(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.get(
        "/cases/{case_id}/menu-suggestions",
        response_model=list[MenuView],
        tags=["cases"],
        summary="ニーズに合う空きのあるメニュー（同じ地区を先に）",
    )
    async def suggestions(case_id: uuid.UUID, caller: CallerDep) -> list[MenuView]:
        found = await handlers.suggest_menus(engine, caller, case_id)
        return [_menu_view(menu_id, m.state, m.version) for menu_id, m in found]

    @app.post(
        "/cases/{case_id}/placements",
        status_code=201,
        response_model=Placed,
        tags=["cases"],
        summary="メニューにマッチングして参加を始める（定員を超える場合は 409）",
    )
    async def place(
        case_id: uuid.UUID,
        body: PlacementIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Placed:
        placement_id, outcome = await handlers.start_placement(
            engine, caller, case_id, expected_version=expected_version, **dict(body)
        )
        base = changed(response, case_id, outcome.version)
        return Placed(**base.model_dump(), placement_id=placement_id)

    @app.post(
        "/cases/{case_id}/placements/{placement_id}/follow-ups",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="定着支援（フォローアップ）を記録する",
    )
    async def follow_up(
        case_id: uuid.UUID,
        placement_id: uuid.UUID,
        body: FollowUpIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.follow_up(
            engine, caller, case_id, placement_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/placements/{placement_id}/end",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="参加を終了する（終了理由を記録）",
    )
    async def end(
        case_id: uuid.UUID,
        placement_id: uuid.UUID,
        body: EndIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.end_placement(
            engine, caller, case_id, placement_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)

    @app.post(
        "/cases/{case_id}/placements/{placement_id}/host-support",
        status_code=201,
        response_model=Changed,
        tags=["cases"],
        summary="受け入れ先への支援を記録する",
    )
    async def host_support(
        case_id: uuid.UUID,
        placement_id: uuid.UUID,
        body: HostSupportIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> Changed:
        outcome = await handlers.support_host(
            engine, caller, case_id, placement_id, expected_version=expected_version, **dict(body)
        )
        return changed(response, case_id, outcome.version)
