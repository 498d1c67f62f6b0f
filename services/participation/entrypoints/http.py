"""Participation's HTTP API: the menu catalogue, and cases from assessment to their closure.

Thin: each route hands its request (a domain command) to a handler and shapes the answer; the
bodies, headers and status codes are the API's contract (the e2e and fuzz suites check them).
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from contracts.events import DISTRICT_PATTERN
from contracts.glossary import MenuKind, MenuStatus, Program, Role
from libs import handover
from libs.http import CallerDep, VersionDep, etag
from libs.runtime import RuntimeDep
from services.participation.domain import menu, model
from services.participation.entrypoints.schemas import (
    CaseView,
    Changed,
    MenuChanged,
    MenuView,
    Placed,
    case_view,
    menu_view,
)
from services.participation.service_layer import handlers

router = APIRouter()
router.include_router(handover.router(Program.PARTICIPATION, Role.PARTICIPATION_COORDINATOR, handlers.change))


def _changed(response: Response, case_id: uuid.UUID, version: int) -> Changed:
    """A change of the case: its new version, also as the ETag for the next If-Match."""
    response.headers["ETag"] = etag(version)
    return Changed(participation_case_id=case_id, version=version)


# --- menus ---


@router.post(
    "/menus", status_code=201, response_model=MenuChanged, tags=["menus"], summary="メニューを登録する"
)
async def publish_menu(
    body: menu.PublishMenu, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> MenuChanged:
    published = await handlers.publish_menu(
        runtime.store, caller, runtime.directory, body, runtime.clock.today()
    )
    response.headers["Location"] = f"/menus/{published.menu_id}"
    response.headers["ETag"] = etag(published.version)
    return MenuChanged(menu_id=published.menu_id, version=published.version)


@router.get("/menus", response_model=list[MenuView], tags=["menus"], summary="メニューの一覧")
async def list_menus(
    caller: CallerDep,
    runtime: RuntimeDep,
    kind: Annotated[MenuKind | None, Query()] = None,
    district: Annotated[str | None, Query(pattern=DISTRICT_PATTERN)] = None,
    status: Annotated[MenuStatus | None, Query()] = None,
) -> list[MenuView]:
    found = await handlers.list_menus(runtime.store, caller, kind=kind, district=district, status=status)
    return [menu_view(menu_id, m.state, m.version) for menu_id, m in found]


@router.get("/menus/{menu_id}", response_model=MenuView, tags=["menus"], summary="メニューを見る")
async def read_menu(
    menu_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> MenuView:
    loaded = await handlers.read_menu(runtime.store, caller, menu_id)
    response.headers["ETag"] = etag(loaded.version)
    return menu_view(menu_id, loaded.state, loaded.version)


@router.patch(
    "/menus/{menu_id}",
    response_model=MenuChanged,
    tags=["menus"],
    summary="メニューを変更する（定員・内容・終了／再開）",
)
async def revise_menu(
    menu_id: uuid.UUID,
    body: menu.ReviseMenu,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> MenuChanged:
    outcome = await handlers.revise_menu(
        runtime.store, caller, menu_id, body, expected_version, runtime.clock.today()
    )
    response.headers["ETag"] = etag(outcome.version)
    return MenuChanged(menu_id=menu_id, version=outcome.version)


# --- cases ---


@router.get(
    "/cases/{case_id}",
    response_model=CaseView,
    tags=["cases"],
    summary="ケースを見る（閲覧は記録されます）",
)
async def read(case_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep) -> CaseView:
    loaded = await handlers.read_case(runtime.store, caller, case_id)
    response.headers["ETag"] = etag(loaded.version)
    response.headers["Cache-Control"] = "no-store"
    return case_view(loaded.state, loaded.version)


@router.get(
    "/referrals/{referral_id}",
    response_model=CaseView,
    tags=["cases"],
    summary="参加支援への依頼からケースを見る",
)
async def read_by_referral(
    referral_id: uuid.UUID, response: Response, caller: CallerDep, runtime: RuntimeDep
) -> CaseView:
    return await read(model.case_id_for(referral_id), response, caller, runtime)


@router.post(
    "/cases/{case_id}/assessments",
    status_code=201,
    response_model=Changed,
    tags=["cases"],
    summary="ニーズと希望のアセスメントを記録する",
)
async def assess(
    case_id: uuid.UUID,
    body: model.AssessNeeds,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)


@router.get(
    "/cases/{case_id}/menu-suggestions",
    response_model=list[MenuView],
    tags=["cases"],
    summary="ニーズに合う空きのあるメニュー（同じ地区を先に）",
)
async def suggestions(case_id: uuid.UUID, caller: CallerDep, runtime: RuntimeDep) -> list[MenuView]:
    found = await handlers.suggest_menus(runtime.store, caller, case_id)
    return [menu_view(menu_id, m.state, m.version) for menu_id, m in found]


@router.post(
    "/cases/{case_id}/placements",
    status_code=201,
    response_model=Placed,
    tags=["cases"],
    summary="メニューにマッチングして参加を始める（定員を超える場合は 409）",
)
async def place(
    case_id: uuid.UUID,
    body: model.StartPlacement,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Placed:
    placed = await handlers.start_placement(runtime.store, caller, case_id, body, expected_version)
    response.headers["ETag"] = etag(placed.version)
    return Placed(participation_case_id=case_id, version=placed.version, placement_id=placed.placement_id)


@router.post(
    "/cases/{case_id}/placements/{placement_id}/follow-ups",
    status_code=201,
    response_model=Changed,
    tags=["cases"],
    summary="定着支援（フォローアップ）を記録する",
)
async def follow_up(
    case_id: uuid.UUID,
    placement_id: uuid.UUID,
    body: model.RecordFollowUp,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    command = model.FollowUp(request=body, placement_id=placement_id)
    outcome = await handlers.change(runtime.store, caller, case_id, command, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/placements/{placement_id}/end",
    status_code=201,
    response_model=Changed,
    tags=["cases"],
    summary="参加を終了する（終了理由を記録）",
)
async def end(
    case_id: uuid.UUID,
    placement_id: uuid.UUID,
    body: model.EndPlacement,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    command = model.End(request=body, placement_id=placement_id)
    outcome = await handlers.end_placement(runtime.store, caller, case_id, command, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/placements/{placement_id}/host-support",
    status_code=201,
    response_model=Changed,
    tags=["cases"],
    summary="受け入れ先への支援を記録する",
)
async def host_support(
    case_id: uuid.UUID,
    placement_id: uuid.UUID,
    body: model.SupportHost,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    command = model.Support(request=body, placement_id=placement_id)
    outcome = await handlers.change(runtime.store, caller, case_id, command, expected_version)
    return _changed(response, case_id, outcome.version)


@router.post(
    "/cases/{case_id}/closure",
    status_code=201,
    response_model=Changed,
    tags=["cases"],
    summary="ケースを終結する（終結理由を記録し、多機関協働事業に報告。参加中のメニューがあれば 409）",
)
async def close(
    case_id: uuid.UUID,
    body: model.CloseCase,
    response: Response,
    expected_version: VersionDep,
    caller: CallerDep,
    runtime: RuntimeDep,
) -> Changed:
    outcome = await handlers.close_case(runtime.store, caller, case_id, body, expected_version)
    return _changed(response, case_id, outcome.version)
