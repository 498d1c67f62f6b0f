"""The directory's HTTP API: read by anyone signed in, changed by the municipal administrator.

Each change is a PUT of one entry (or a DELETE of a user) and answers the directory's new
version, also as the ETag for the next If-Match; the program services have it within seconds.
"""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from contracts.envelope import CODE_PATTERN, ContractModel
from contracts.events import (
    DISTRICT_PATTERN,
    DirectoryDistrict,
    DirectoryOrganisation,
    DirectorySchoolDistrict,
)
from contracts.glossary import Role
from libs.commands import Outcome
from libs.directory import Directory
from libs.http import CallerDep, VersionDep, etag
from libs.runtime import RuntimeDep
from services.directory.domain import model
from services.directory.service_layer import handlers

router = APIRouter()

Code = Annotated[str, Path(pattern=CODE_PATTERN, description="機関・利用者のコード（英小文字・数字・-_.）")]
AreaCode = Annotated[str, Path(pattern=DISTRICT_PATTERN, description="地区・小学校区のコード")]


class DirectoryView(ContractModel):
    """The municipality's organisations and districts (no personal data)."""

    version: int
    municipality: str
    districts: list[DirectoryDistrict]
    school_districts: list[DirectorySchoolDistrict]
    organisations: list[DirectoryOrganisation]


class UserView(ContractModel):
    id: str
    organisation: str
    roles: list[Role]
    display: str


class Changed(ContractModel):
    version: int


def _directory(state: model.State) -> Directory:
    assert state.directory is not None, "imported at start-up"
    return state.directory


def _changed(response: Response, outcome: Outcome[model.State]) -> Changed:
    response.headers["ETag"] = etag(outcome.version)
    return Changed(version=outcome.version)


@router.get("/directory", response_model=DirectoryView, tags=["directory"], summary="機関・地区の名簿")
async def read_directory(caller: CallerDep, runtime: RuntimeDep, response: Response) -> DirectoryView:
    loaded = await handlers.read_directory(runtime.store, caller)
    document = _directory(loaded.state).document(with_display=False)
    del document["users"]
    response.headers["ETag"] = etag(loaded.version)
    return DirectoryView(version=loaded.version, **document)


@router.get(
    "/users",
    response_model=list[UserView],
    tags=["users"],
    summary="利用者の一覧（市町村担当課・監査担当）",
    responses={403: {"description": "市町村担当課・監査担当ではありません"}},
)
async def read_users(caller: CallerDep, runtime: RuntimeDep, response: Response) -> list[UserView]:
    loaded = await handlers.read_users(runtime.store, caller, runtime.settings.organisation)
    response.headers["ETag"] = etag(loaded.version)
    return [UserView(**u) for u in _directory(loaded.state).document()["users"]]


async def _run(
    runtime: RuntimeDep, caller: CallerDep, command: handlers.Change, version: int | None, response: Response
) -> Changed:
    outcome = await handlers.change(runtime.store, caller, runtime.settings.organisation, command, version)
    return _changed(response, outcome)


CHANGE_RESPONSES: dict[int | str, dict[str, str]] = {
    403: {"description": "市町村担当課の利用者ではありません"},
    409: {"description": "名簿が先に変更されています（If-Match の版数が古い）"},
}


@router.put(
    "/organisations/{code}",
    response_model=Changed,
    tags=["organisations"],
    summary="機関を登録・変更する",
    responses=CHANGE_RESPONSES,
)
async def set_organisation(
    code: Code,
    body: model.OrganisationEntry,
    caller: CallerDep,
    runtime: RuntimeDep,
    version: VersionDep,
    response: Response,
) -> Changed:
    return await _run(runtime, caller, model.SetOrganisation(code=code, entry=body), version, response)


@router.put(
    "/districts/{code}",
    response_model=Changed,
    tags=["districts"],
    summary="地区を登録・変更する",
    responses=CHANGE_RESPONSES,
)
async def set_district(
    code: AreaCode,
    body: model.DistrictEntry,
    caller: CallerDep,
    runtime: RuntimeDep,
    version: VersionDep,
    response: Response,
) -> Changed:
    return await _run(runtime, caller, model.SetDistrict(code=code, entry=body), version, response)


@router.put(
    "/school-districts/{code}",
    response_model=Changed,
    tags=["districts"],
    summary="小学校区を登録・変更する",
    responses=CHANGE_RESPONSES,
)
async def set_school_district(
    code: AreaCode,
    body: model.SchoolDistrictEntry,
    caller: CallerDep,
    runtime: RuntimeDep,
    version: VersionDep,
    response: Response,
) -> Changed:
    return await _run(runtime, caller, model.SetSchoolDistrict(code=code, entry=body), version, response)


@router.put(
    "/users/{user_id}",
    response_model=Changed,
    tags=["users"],
    summary="利用者を登録・変更する",
    responses=CHANGE_RESPONSES,
)
async def set_user(
    user_id: Code,
    body: model.UserEntry,
    caller: CallerDep,
    runtime: RuntimeDep,
    version: VersionDep,
    response: Response,
) -> Changed:
    return await _run(runtime, caller, model.SetUser(user_id=user_id, entry=body), version, response)


@router.delete(
    "/users/{user_id}",
    response_model=Changed,
    tags=["users"],
    summary="利用者を削除する（異動・退職）",
    responses={**CHANGE_RESPONSES, 404: {"description": "名簿にない利用者です"}},
)
async def remove_user(
    user_id: Code, caller: CallerDep, runtime: RuntimeDep, version: VersionDep, response: Response
) -> Changed:
    return await _run(runtime, caller, model.RemoveUser(user_id=user_id), version, response)
