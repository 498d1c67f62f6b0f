"""Community's HTTP API: places and their activities and volunteers, concerns passed on,
platform meetings, and the resource directory in Open Referral HSDS 3.0 shape."""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import CODE_PATTERN
from contracts.events import DISTRICT_PATTERN
from contracts.glossary import (
    AgeBand,
    Generation,
    IssueTag,
    LegalBasis,
    PlaceKind,
    PlatformTheme,
    Sector,
    TargetGroup,
    label_ja,
)
from libs.fields import Day, Flag, WholeNumber
from libs.http import Caller, etag, if_match
from libs.runtime import Runtime
from libs.text import Note, line
from services.community.domain import concern, model
from services.community.service_layer import handlers
from services.community.service_layer.hsds import slot_text

District = Annotated[str, Field(pattern=DISTRICT_PATTERN)]
Count = Annotated[WholeNumber, Field(ge=0, le=10000)]
VolunteerRef = Annotated[str, Path(pattern=model.VOLUNTEER_REF_PATTERN)]


class PlaceIn(BaseModel):
    """A place to register (居場所の登録). Everything here is a public directory entry."""

    model_config = ConfigDict(extra="forbid")

    kind: PlaceKind
    name: line(100) = Field(description="居場所の名称（公開されます）")  # type: ignore[valid-type]
    description: Note | None = Field(
        default=None, description="居場所の紹介文（公開されます。個人の情報は書かないでください）"
    )
    address: model.PlaceAddress | None = Field(
        default=None, description="所在地（公開されます）。個人宅で開く場合は登録しないでください"
    )
    district: District = Field(description="地区コード（例: chuo-1）")
    school_district: District = Field(description="小学校区コード（例: chuo-es）")
    target_groups: list[TargetGroup] = Field(min_length=1, max_length=8)
    multi_generational: Flag = Field(description="世代を問わず交流できる場か（多世代型）")
    schedule: list[model.Slot] = Field(default_factory=list, max_length=14, description="開催日時")
    opened_on: Day


class AttendanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    children: Count = 0
    youth: Count = 0
    working_age: Count = 0
    older: Count = 0


class ActivityIn(BaseModel):
    """An activity held (活動の記録): counts by generation, never names."""

    model_config = ConfigDict(extra="forbid")

    held_on: Day
    attendance: AttendanceIn
    volunteer_count: Count = 0
    new_resident_led: Flag = Field(default=False, description="住民主体で新たに始まった活動か")


class VolunteerIn(BaseModel):
    """A volunteer registration: a generation only; the service gives a pseudonymous ref."""

    model_config = ConfigDict(extra="forbid")

    generation: Generation
    registered_on: Day


class LeaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left_on: Day


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closed_on: Day


class ConcernIn(BaseModel):
    """Something noticed about a person at the place (気づき). The description is kept sealed here."""

    model_config = ConfigDict(extra="forbid")

    issue_tags: list[IssueTag] = Field(min_length=1, max_length=14)
    age_band: AgeBand = Field(description="おおよその年代")
    description: Note = Field(description="気づいた内容（この事業所内のみで、本人ごとの鍵で暗号化して保持）")
    noticed_on: Day


class RaiseIn(BaseModel):
    """Pass the concern on (つなぎ): to intake for a consultation, to outreach for someone who will not come."""

    model_config = ConfigDict(extra="forbid")

    raised_to: Literal["intake", "outreach"]
    raised_on: Day


class MeetingIn(BaseModel):
    """A multi-sector platform meeting (プラットフォーム会議)."""

    model_config = ConfigDict(extra="forbid")

    held_on: Day
    district: District | None = Field(default=None, description="地区コード（市全域なら省略）")
    sectors: list[Sector] = Field(min_length=1, max_length=14, description="参加した分野（2分野以上）")
    organisations: list[Annotated[str, Field(pattern=CODE_PATTERN)]] = Field(
        default_factory=list, max_length=200, description="参加した団体・機関のコード"
    )
    themes: list[PlatformTheme] = Field(min_length=1, max_length=8)
    decisions: list[Note] = Field(
        default_factory=list,
        max_length=50,
        description="決まったこと（個人が特定される内容は書かないでください）",
    )
    minutes: Note | None = Field(default=None, description="記録（個人が特定される内容は書かないでください）")


class SlotView(model.Slot):
    text_ja: str


class ActivityView(BaseModel):
    activity_id: uuid.UUID
    held_on: date
    attendance: AttendanceIn
    attendance_total: int
    volunteer_count: int
    new_resident_led: bool


class VolunteerView(BaseModel):
    volunteer_ref: str
    generation: Generation
    registered_on: date
    left_on: date | None


class PlaceView(BaseModel):
    place_id: uuid.UUID
    version: int
    status: Literal["open", "closed"]
    holder_organisation: str
    kind: PlaceKind
    kind_label: str
    name: str
    description: str | None
    address: model.PlaceAddress | None
    district: str
    school_district: str
    target_groups: list[TargetGroup]
    target_group_labels: list[str]
    multi_generational: bool
    schedule: list[SlotView]
    opened_on: date
    closed_on: date | None
    activities: list[ActivityView]
    active_volunteers: int
    volunteers: list[VolunteerView] | None = Field(
        description="登録した事業所の地域づくりコーディネーターにのみ表示（仮名の識別子と世代のみ）"
    )


class PlaceCreated(BaseModel):
    place_id: uuid.UUID
    version: int


class ActivityCreated(BaseModel):
    place_id: uuid.UUID
    activity_id: uuid.UUID
    version: int


class VolunteerCreated(BaseModel):
    place_id: uuid.UUID
    volunteer_ref: str
    version: int


class ConcernCreated(BaseModel):
    concern_id: uuid.UUID
    case_key: uuid.UUID
    version: int


class ConcernView(BaseModel):
    concern_id: uuid.UUID
    version: int
    status: concern.Status
    case_key: uuid.UUID
    subject_ref: str
    place_id: uuid.UUID
    holder_organisation: str
    access_basis: LegalBasis
    issue_tags: list[IssueTag]
    age_band: AgeBand
    district: str
    noticed_on: date
    description: str | None = Field(description="消去済みの場合は null")
    raised_to: Literal["intake", "outreach"] | None
    raised_on: date | None


class MeetingCreated(BaseModel):
    meeting_id: uuid.UUID
    version: int


class MeetingView(BaseModel):
    meeting_id: uuid.UUID
    holder_organisation: str
    held_on: date
    district: str | None
    sectors: list[Sector]
    sector_labels: list[str]
    organisations: list[str]
    themes: list[PlatformTheme]
    theme_labels: list[str]
    decisions: list[str]
    minutes: str | None


class SummaryView(BaseModel):
    places_open: int
    places_multi_generational: int
    places_by_school_district: dict[str, int]
    places_by_district: dict[str, int]
    activities: int
    new_resident_led_activities: int
    attendance_by_generation: dict[str, int]
    active_volunteers: int
    resource_gaps: dict[str, dict[str, int]] = Field(
        description="多機関協働の会議で不足とされた地域資源（種類→地区→件数）：地域づくりの手がかり"
    )


def _slot_view(slot: model.Slot) -> SlotView:
    return SlotView(**slot.model_dump(), text_ja=slot_text(slot))


def _place_view(place: model.Place, version: int, caller: Caller) -> PlaceView:
    registered = place.registered
    assert registered is not None
    holder = caller.principal.organisation == registered.holder_organisation
    return PlaceView(
        place_id=registered.place_id,
        version=version,
        status="closed" if place.closed_on else "open",
        holder_organisation=registered.holder_organisation,
        kind=registered.kind,
        kind_label=label_ja(registered.kind),
        name=registered.name,
        description=registered.description,
        address=registered.address,
        district=registered.district,
        school_district=registered.school_district,
        target_groups=registered.target_groups,
        target_group_labels=[label_ja(t) for t in registered.target_groups],
        multi_generational=registered.multi_generational,
        schedule=[_slot_view(s) for s in registered.schedule],
        opened_on=registered.opened_on,
        closed_on=place.closed_on,
        activities=[
            ActivityView(
                activity_id=a.activity_id,
                held_on=a.held_on,
                attendance=AttendanceIn(**a.attendance.model_dump()),
                attendance_total=a.attendance.total,
                volunteer_count=a.volunteer_count,
                new_resident_led=a.new_resident_led,
            )
            for a in place.activities
        ],
        active_volunteers=len(place.active_volunteers),
        volunteers=[
            VolunteerView(
                volunteer_ref=v.volunteer_ref,
                generation=v.generation,
                registered_on=v.registered_on,
                left_on=v.left_on,
            )
            for v in place.volunteers.values()
        ]
        if holder
        else None,
    )


def _concern_view(state: concern.Concern, version: int) -> ConcernView:
    noted = state.noted
    assert noted is not None
    return ConcernView(
        concern_id=noted.concern_id,
        version=version,
        status=state.status,
        case_key=noted.case_key,
        subject_ref=noted.subject_ref,
        place_id=noted.place_id,
        holder_organisation=noted.holder_organisation,
        access_basis=LegalBasis.HOLDER,
        issue_tags=noted.issue_tags,
        age_band=noted.age_band,
        district=noted.district,
        noticed_on=noted.noticed_on,
        description=noted.description,
        raised_to=state.raised.raised_to if state.raised else None,
        raised_on=state.raised.raised_on if state.raised else None,
    )


def routes(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    engine, directory = runtime.engine, runtime.directory
    CallerDep = Annotated[Caller, Depends(app.state.caller)]
    VersionDep = Annotated[int | None, Depends(if_match)]

    # --- places -------------------------------------------------------------------------

    @app.post(
        "/places", status_code=201, response_model=PlaceCreated, tags=["places"], summary="居場所を登録する"
    )
    async def register(body: PlaceIn, response: Response, caller: CallerDep) -> PlaceCreated:
        place_id = uuid.uuid4()
        outcome = await handlers.register_place(engine, caller, directory, place_id=place_id, **dict(body))
        response.headers["Location"] = f"/places/{place_id}"
        response.headers["ETag"] = etag(outcome.version)
        return PlaceCreated(place_id=place_id, version=outcome.version)

    @app.get("/places", response_model=list[PlaceView], tags=["places"], summary="居場所の一覧")
    async def list_places(
        caller: CallerDep,
        district: District | None = None,
        school_district: District | None = None,
        kind: PlaceKind | None = None,
        include_closed: bool = False,
    ) -> list[PlaceView]:
        places = []
        for loaded in await handlers.list_places(engine, caller):
            registered = loaded.state.registered
            if registered is None or (loaded.state.closed_on and not include_closed):
                continue
            if district and registered.district != district:
                continue
            if school_district and registered.school_district != school_district:
                continue
            if kind and registered.kind != kind:
                continue
            places.append(_place_view(loaded.state, loaded.version, caller))
        return places

    @app.get("/places/{place_id}", response_model=PlaceView, tags=["places"], summary="居場所を見る")
    async def read_place(place_id: uuid.UUID, response: Response, caller: CallerDep) -> PlaceView:
        loaded = await handlers.read_place(engine, caller, place_id)
        response.headers["ETag"] = etag(loaded.version)
        return _place_view(loaded.state, loaded.version, caller)

    @app.post(
        "/places/{place_id}/activities",
        status_code=201,
        response_model=ActivityCreated,
        tags=["places"],
        summary="活動を記録する（世代別の参加者数）",
    )
    async def record_activity(
        place_id: uuid.UUID,
        body: ActivityIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> ActivityCreated:
        activity_id, outcome = await handlers.record_activity(
            engine,
            caller,
            place_id,
            held_on=body.held_on,
            attendance=model.Attendance(**body.attendance.model_dump()),
            volunteer_count=body.volunteer_count,
            new_resident_led=body.new_resident_led,
            expected_version=expected_version,
        )
        response.headers["ETag"] = etag(outcome.version)
        return ActivityCreated(place_id=place_id, activity_id=activity_id, version=outcome.version)

    @app.post(
        "/places/{place_id}/volunteers",
        status_code=201,
        response_model=VolunteerCreated,
        tags=["places"],
        summary="ボランティアを登録する（氏名は記録しません）",
    )
    async def register_volunteer(
        place_id: uuid.UUID,
        body: VolunteerIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> VolunteerCreated:
        ref, outcome = await handlers.register_volunteer(
            engine, caller, place_id, expected_version=expected_version, **dict(body)
        )
        response.headers["ETag"] = etag(outcome.version)
        return VolunteerCreated(place_id=place_id, volunteer_ref=ref, version=outcome.version)

    @app.post(
        "/places/{place_id}/volunteers/{volunteer_ref}/leave",
        response_model=PlaceCreated,
        tags=["places"],
        summary="ボランティアの活動終了を記録する",
    )
    async def volunteer_leaves(
        place_id: uuid.UUID,
        volunteer_ref: VolunteerRef,
        body: LeaveIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> PlaceCreated:
        outcome = await handlers.volunteer_leaves(
            engine, caller, place_id, volunteer_ref, left_on=body.left_on, expected_version=expected_version
        )
        response.headers["ETag"] = etag(outcome.version)
        return PlaceCreated(place_id=place_id, version=outcome.version)

    @app.post(
        "/places/{place_id}/close",
        response_model=PlaceCreated,
        tags=["places"],
        summary="居場所の閉所を記録する",
    )
    async def close_place(
        place_id: uuid.UUID,
        body: CloseIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> PlaceCreated:
        outcome = await handlers.close_place(
            engine, caller, place_id, closed_on=body.closed_on, expected_version=expected_version
        )
        response.headers["ETag"] = etag(outcome.version)
        return PlaceCreated(place_id=place_id, version=outcome.version)

    # --- concerns -----------------------------------------------------------------------

    @app.post(
        "/places/{place_id}/concerns",
        status_code=201,
        response_model=ConcernCreated,
        tags=["concerns"],
        summary="居場所での気づきを記録する",
    )
    async def note_concern(
        place_id: uuid.UUID, body: ConcernIn, response: Response, caller: CallerDep
    ) -> ConcernCreated:
        noted, outcome = await handlers.note_concern(engine, caller, place_id, **dict(body))
        response.headers["Location"] = f"/concerns/{noted.concern_id}"
        response.headers["ETag"] = etag(outcome.version)
        return ConcernCreated(concern_id=noted.concern_id, case_key=noted.case_key, version=outcome.version)

    @app.post(
        "/concerns/{concern_id}/raise",
        response_model=ConcernCreated,
        tags=["concerns"],
        summary="気づきを包括的相談支援またはアウトリーチにつなぐ",
    )
    async def raise_concern(
        concern_id: uuid.UUID,
        body: RaiseIn,
        response: Response,
        expected_version: VersionDep,
        caller: CallerDep,
    ) -> ConcernCreated:
        outcome = await handlers.raise_concern(
            engine, caller, concern_id, expected_version=expected_version, **dict(body)
        )
        noted = outcome.state.noted
        assert noted is not None
        response.headers["ETag"] = etag(outcome.version)
        return ConcernCreated(concern_id=concern_id, case_key=noted.case_key, version=outcome.version)

    @app.get(
        "/concerns/{concern_id}",
        response_model=ConcernView,
        tags=["concerns"],
        summary="気づきの記録を見る（閲覧は記録されます）",
    )
    async def read_concern(concern_id: uuid.UUID, response: Response, caller: CallerDep) -> ConcernView:
        loaded = await handlers.read_concern(engine, caller, concern_id)
        response.headers["ETag"] = etag(loaded.version)
        response.headers["Cache-Control"] = "no-store"
        return _concern_view(loaded.state, loaded.version)

    @app.get(
        "/cases/{case_id}",
        response_model=ConcernView,
        tags=["concerns"],
        summary="ケースのきっかけになった気づきを見る（ケースキーから・閲覧は記録されます）",
    )
    async def read_concern_of_case(case_id: uuid.UUID, response: Response, caller: CallerDep) -> ConcernView:
        return await read_concern(await handlers.concern_id_for_case(engine, case_id), response, caller)

    # --- platform meetings --------------------------------------------------------------

    @app.post(
        "/platform-meetings",
        status_code=201,
        response_model=MeetingCreated,
        tags=["platform"],
        summary="多分野のプラットフォーム会議を記録する",
    )
    async def record_meeting(body: MeetingIn, response: Response, caller: CallerDep) -> MeetingCreated:
        meeting_id = uuid.uuid4()
        outcome = await handlers.record_meeting(
            engine, caller, directory, meeting_id=meeting_id, **dict(body)
        )
        response.headers["Location"] = f"/platform-meetings/{meeting_id}"
        return MeetingCreated(meeting_id=meeting_id, version=outcome.version)

    @app.get(
        "/platform-meetings/{meeting_id}",
        response_model=MeetingView,
        tags=["platform"],
        summary="プラットフォーム会議の記録を見る",
    )
    async def read_meeting(meeting_id: uuid.UUID, caller: CallerDep) -> MeetingView:
        recorded = (await handlers.read_meeting(engine, caller, meeting_id)).state.recorded
        assert recorded is not None
        return MeetingView(
            **recorded.model_dump(),
            sector_labels=[label_ja(s) for s in recorded.sectors],
            theme_labels=[label_ja(t) for t in recorded.themes],
        )

    # --- directory and figures ----------------------------------------------------------

    @app.get(
        "/directory/hsds",
        tags=["directory"],
        summary="社会資源ディレクトリ（Open Referral HSDS 3.0 形式・認証済みの利用者なら誰でも）",
    )
    async def export_hsds(caller: CallerDep) -> dict[str, Any]:
        return await handlers.export_hsds(engine, caller, directory)

    @app.get("/summary", response_model=SummaryView, tags=["directory"], summary="地域づくりの集計")
    async def summary(caller: CallerDep) -> SummaryView:
        return SummaryView(**vars(await handlers.summary(engine, caller)))
