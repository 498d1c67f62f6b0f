"""Community's HTTP API: places and their activities and volunteers, concerns passed on,
platform meetings, and the resource directory in Open Referral HSDS 3.0 shape.

Thin: each route hands its request (a domain command) to a handler and shapes the answer; the
bodies, headers and status codes are the API's contract (the e2e and fuzz suites check them).
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import IntegratedScheme, PlaceKind
from libs.eventstore import Loaded
from libs.http import CallerDep, VersionDep, etag
from libs.runtime import RuntimeDep
from services.community.domain import concern, model, platform
from services.community.entrypoints.schemas import (
    ActivityCreated,
    ConcernCreated,
    ConcernView,
    MeetingCreated,
    MeetingView,
    PlaceCreated,
    PlaceView,
    SummaryView,
    VolunteerCreated,
    concern_view,
    meeting_view,
    place_view,
    summary_view,
)
from services.community.service_layer import handlers

VolunteerRef = Annotated[str, Path(pattern=model.VOLUNTEER_REF_PATTERN)]

router = APIRouter()


def _place_changed(response: Response, place_id: uuid.UUID, version: int) -> PlaceCreated:
    """A change of the place: its new version, also as the ETag for the next If-Match."""
    response.headers["ETag"] = etag(version)
    return PlaceCreated(place_id=place_id, version=version)


# --- places -------------------------------------------------------------------------


@router.post(
    "/places", status_code=201, response_model=PlaceCreated, tags=["places"], summary="居場所を登録する"
)
async def register(
    body: model.RegisterPlace, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> PlaceCreated:
    registered = await handlers.register_place(runtime.store, caller, runtime.directory, body)
    response.headers["Location"] = f"/places/{registered.place_id}"
    return _place_changed(response, registered.place_id, registered.version)


@router.get("/places", response_model=list[PlaceView], tags=["places"], summary="居場所の一覧")
async def list_places(
    caller: CallerDep,
    runtime: RuntimeDep,
    district: Annotated[str | None, Query(pattern=DISTRICT_PATTERN)] = None,
    school_district: Annotated[str | None, Query(pattern=DISTRICT_PATTERN)] = None,
    kind: PlaceKind | None = None,
    integrated_scheme: Annotated[
        IntegratedScheme | None, Query(description="この包括化対象事業で運営されている居場所")
    ] = None,
    include_closed: bool = False,
) -> list[PlaceView]:
    places = []
    for loaded in await handlers.list_places(runtime.store, caller):
        registered = loaded.state.registered
        if registered is None or (loaded.state.closed_on and not include_closed):
            continue
        if district and registered.district != district:
            continue
        if school_district and registered.school_district != school_district:
            continue
        if kind and registered.kind != kind:
            continue
        if integrated_scheme and integrated_scheme not in (registered.integrated_schemes or ()):
            continue
        places.append(place_view(loaded.state, loaded.version, caller))
    return places


@router.get("/places/{place_id}", response_model=PlaceView, tags=["places"], summary="居場所を見る")
async def read_place(
    place_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> PlaceView:
    loaded = await handlers.read_place(runtime.store, caller, place_id)
    response.headers["ETag"] = etag(loaded.version)
    return place_view(loaded.state, loaded.version, caller)


@router.post(
    "/places/{place_id}/activities",
    status_code=201,
    response_model=ActivityCreated,
    tags=["places"],
    summary="活動を記録する（世代別の参加者数）",
)
async def record_activity(
    place_id: uuid.UUID,
    body: model.RecordActivity,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> ActivityCreated:
    added = await handlers.record_activity(runtime.store, caller, place_id, body, expected_version)
    response.headers["ETag"] = etag(added.version)
    return ActivityCreated(place_id=place_id, activity_id=added.activity_id, version=added.version)


@router.post(
    "/places/{place_id}/volunteers",
    status_code=201,
    response_model=VolunteerCreated,
    tags=["places"],
    summary="ボランティアを登録する（氏名は記録しません）",
)
async def register_volunteer(
    place_id: uuid.UUID,
    body: model.RegisterVolunteer,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> VolunteerCreated:
    added = await handlers.register_volunteer(runtime.store, caller, place_id, body, expected_version)
    response.headers["ETag"] = etag(added.version)
    return VolunteerCreated(place_id=place_id, volunteer_ref=added.volunteer_ref, version=added.version)


@router.post(
    "/places/{place_id}/volunteers/{volunteer_ref}/leave",
    response_model=PlaceCreated,
    tags=["places"],
    summary="ボランティアの活動終了を記録する",
)
async def volunteer_leaves(
    place_id: uuid.UUID,
    volunteer_ref: VolunteerRef,
    body: model.RecordLeaving,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> PlaceCreated:
    command = model.Leave(request=body, volunteer_ref=volunteer_ref)
    outcome = await handlers.change_place(runtime.store, caller, place_id, command, expected_version)
    return _place_changed(response, place_id, outcome.version)


@router.post(
    "/places/{place_id}/close",
    response_model=PlaceCreated,
    tags=["places"],
    summary="居場所の閉所を記録する",
)
async def close_place(
    place_id: uuid.UUID,
    body: model.ClosePlace,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> PlaceCreated:
    outcome = await handlers.change_place(runtime.store, caller, place_id, body, expected_version)
    return _place_changed(response, place_id, outcome.version)


# --- concerns -----------------------------------------------------------------------


@router.post(
    "/places/{place_id}/concerns",
    status_code=201,
    response_model=ConcernCreated,
    tags=["concerns"],
    summary="居場所での気づきを記録する",
)
async def note_concern(
    place_id: uuid.UUID,
    body: concern.NoteConcern,
    response: Response,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> ConcernCreated:
    noted = await handlers.note_concern(runtime.store, caller, place_id, body)
    response.headers["Location"] = f"/concerns/{noted.concern_id}"
    response.headers["ETag"] = etag(noted.version)
    return ConcernCreated(concern_id=noted.concern_id, case_key=noted.case_key, version=noted.version)


@router.post(
    "/concerns/{concern_id}/raise",
    response_model=ConcernCreated,
    tags=["concerns"],
    summary="気づきを包括的相談支援またはアウトリーチにつなぐ",
)
async def raise_concern(
    concern_id: uuid.UUID,
    body: concern.RaiseConcern,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> ConcernCreated:
    outcome = await handlers.change_concern(runtime.store, caller, concern_id, body, expected_version)
    noted = outcome.state.noted
    assert noted is not None  # the guard passed: the concern exists
    response.headers["ETag"] = etag(outcome.version)
    return ConcernCreated(concern_id=concern_id, case_key=noted.case_key, version=outcome.version)


def _concern_read(response: Response, loaded: Loaded[concern.Concern]) -> ConcernView:
    """A concern's details: never cached, with the version to decide on next."""
    response.headers["ETag"] = etag(loaded.version)
    response.headers["Cache-Control"] = "no-store"
    return concern_view(loaded.state, loaded.version)


@router.get(
    "/concerns/{concern_id}",
    response_model=ConcernView,
    tags=["concerns"],
    summary="気づきの記録を見る（閲覧は記録されます）",
)
async def read_concern(
    concern_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> ConcernView:
    return _concern_read(response, await handlers.read_concern(runtime.store, caller, concern_id))


@router.get(
    "/cases/{case_id}",
    response_model=ConcernView,
    tags=["concerns"],
    summary="ケースのきっかけになった気づきを見る（ケースキーから・閲覧は記録されます）",
)
async def read_concern_of_case(
    case_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> ConcernView:
    return _concern_read(response, await handlers.read_concern_of_case(runtime.store, caller, case_id))


# --- platform meetings --------------------------------------------------------------


@router.post(
    "/platform-meetings",
    status_code=201,
    response_model=MeetingCreated,
    tags=["platform"],
    summary="多分野のプラットフォーム会議を記録する",
)
async def record_meeting(
    body: platform.RecordMeeting, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> MeetingCreated:
    recorded = await handlers.record_meeting(runtime.store, caller, runtime.directory, body)
    response.headers["Location"] = f"/platform-meetings/{recorded.meeting_id}"
    return MeetingCreated(meeting_id=recorded.meeting_id, version=recorded.version)


@router.get(
    "/platform-meetings/{meeting_id}",
    response_model=MeetingView,
    tags=["platform"],
    summary="プラットフォーム会議の記録を見る",
)
async def read_meeting(meeting_id: uuid.UUID, caller: CallerDep, runtime: RuntimeDep) -> MeetingView:
    return meeting_view((await handlers.read_meeting(runtime.store, caller, meeting_id)).state)


# --- directory and figures ----------------------------------------------------------


@router.get(
    "/directory/hsds",
    tags=["directory"],
    summary="社会資源ディレクトリ（Open Referral HSDS 3.0 形式・認証済みの利用者なら誰でも）",
)
async def export_hsds(caller: CallerDep, runtime: RuntimeDep) -> dict[str, Any]:
    return await handlers.export_hsds(runtime.store, caller, runtime.directory)


@router.get("/summary", response_model=SummaryView, tags=["directory"], summary="地域づくりの集計")
async def summary(caller: CallerDep, runtime: RuntimeDep) -> SummaryView:
    return summary_view(await handlers.summary(runtime.store, caller))
