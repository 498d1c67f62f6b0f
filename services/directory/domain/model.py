"""The municipality's directory as the administrator keeps it: one stream, one version per change.

Organisations (those that run programs, with the districts they serve, and the 支援関係機関 that
never sign in), districts and school districts, and the users who sign in with their roles. The
rules keep it usable by every service: nothing names a district, school district or organisation
the directory does not hold, and the last administrator cannot be removed (nobody could then
change it again). Setting an entry to what it already is records nothing.

Pure: no I/O; the seed arrives in the command.
"""

import dataclasses
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from contracts.envelope import CODE_PATTERN
from contracts.events import DISTRICT_PATTERN
from contracts.glossary import OrganisationKind, Program, Role, StatutoryDuty
from libs.directory import Directory, District, Organisation, User
from libs.domain import Aggregate, Command, DomainError, DomainEvent, InvalidCommand, NotFound
from libs.fields import WholeNumber

STREAM_TYPE = "MunicipalDirectory"
STREAM_ID = "directory"


class OrganisationEntry(Command):
    """An organisation as the directory holds it."""

    name: str = Field(min_length=1, max_length=100, pattern=r"\S", description="正式な名称")
    kind: OrganisationKind = Field(description="機関の種別")
    programs: list[Program] = Field(
        default_factory=list, max_length=5, description="運営する事業（支援関係機関は空）"
    )
    districts: list[str] = Field(
        default_factory=list,
        max_length=200,
        description="事業を担当する地区のコード（市全域を担当するなら空）",
    )
    duties: list[StatutoryDuty] = Field(
        default_factory=list, max_length=5, description="法令上の義務（虐待対応など。緊急時の閲覧の要件）"
    )

    def organisation(self, code: str) -> Organisation:
        return Organisation(
            code,
            self.name,
            frozenset(self.programs),
            frozenset(self.districts),
            self.kind,
            frozenset(self.duties),
        )


class DistrictEntry(Command):
    name: str = Field(min_length=1, max_length=100, pattern=r"\S", description="地区の名称")
    population: WholeNumber = Field(ge=0, le=40_000_000, description="人口（10万人あたりの率の分母）")
    school_district: str = Field(pattern=DISTRICT_PATTERN, description="属する小学校区のコード")


class SchoolDistrictEntry(Command):
    name: str = Field(min_length=1, max_length=100, pattern=r"\S", description="小学校区の名称")


class UserEntry(Command):
    organisation: str = Field(pattern=CODE_PATTERN, description="所属する機関のコード")
    roles: list[Role] = Field(min_length=1, max_length=7, description="役割")
    display: str = Field(min_length=1, max_length=100, pattern=r"\S", description="表示名（職員の呼び名）")


# --- events -------------------------------------------------------------------------------


class DirectoryImported(DomainEvent):
    """The directory the municipality started from (its seed file), whole."""

    document: dict[str, Any]


class OrganisationSet(DomainEvent):
    code: str
    entry: OrganisationEntry


class DistrictSet(DomainEvent):
    code: str
    entry: DistrictEntry


class SchoolDistrictSet(DomainEvent):
    code: str
    entry: SchoolDistrictEntry


class UserSet(DomainEvent):
    user_id: str
    entry: UserEntry


class UserRemoved(DomainEvent):
    """The user no longer signs in (moved, retired); what they recorded keeps their id."""

    user_id: str


@dataclass(frozen=True)
class State:
    """The directory (None before the import) and the stream's version, which the published
    copies carry so a service keeps only the newest."""

    directory: Directory | None = None
    version: int = 0


def evolve(state: State, event: DomainEvent) -> State:
    version = state.version + 1
    if isinstance(event, DirectoryImported):
        return State(Directory.from_document(event.document), version)
    directory = state.directory
    assert directory is not None, "every change follows the import"
    match event:
        case OrganisationSet(code=code, entry=entry):
            directory = dataclasses.replace(
                directory, organisations={**directory.organisations, code: entry.organisation(code)}
            )
        case DistrictSet(code=code, entry=entry):
            district = District(code, entry.name, entry.population, entry.school_district)
            directory = dataclasses.replace(directory, districts={**directory.districts, code: district})
        case SchoolDistrictSet(code=code, entry=entry):
            directory = dataclasses.replace(
                directory, school_districts={**directory.school_districts, code: entry.name}
            )
        case UserSet(user_id=user_id, entry=entry):
            user = User(user_id, entry.organisation, frozenset(entry.roles), entry.display)
            directory = dataclasses.replace(directory, users={**directory.users, user_id: user})
        case UserRemoved(user_id=user_id):
            directory = dataclasses.replace(
                directory, users={k: u for k, u in directory.users.items() if k != user_id}
            )
        case _:
            raise TypeError(f"unknown event {type(event).__name__}")
    return State(directory, version)


# --- commands -----------------------------------------------------------------------------


class ImportSeed(Command):
    document: dict[str, Any]


class SetOrganisation(Command):
    code: str
    entry: OrganisationEntry


class SetDistrict(Command):
    code: str
    entry: DistrictEntry


class SetSchoolDistrict(Command):
    code: str
    entry: SchoolDistrictEntry


class SetUser(Command):
    user_id: str
    entry: UserEntry


class RemoveUser(Command):
    user_id: str


def decide(command: Command, state: State) -> list[DomainEvent]:
    """The events a change leads to, or a DomainError saying why not."""
    if isinstance(command, ImportSeed):
        if state.directory is not None:
            raise DomainError("already_imported", "名簿はすでに読み込まれています。")
        try:
            Directory.from_document(command.document)
        except (ValueError, KeyError) as exc:
            raise InvalidCommand("invalid_seed", f"名簿ファイルに矛盾があります: {exc}") from exc
        return [DirectoryImported(document=command.document)]
    directory = state.directory
    if directory is None:
        raise DomainError(
            "not_imported", "名簿がまだ読み込まれていません。しばらくしてから操作してください。"
        )
    match command:
        case SetOrganisation():
            return _set_organisation(directory, command)
        case SetDistrict():
            return _set_district(directory, command)
        case SetSchoolDistrict():
            current = directory.school_districts.get(command.code)
            return (
                []
                if current == command.entry.name
                else [SchoolDistrictSet(code=command.code, entry=command.entry)]
            )
        case SetUser():
            return _set_user(directory, command)
        case RemoveUser():
            if command.user_id not in directory.users:
                raise NotFound("unknown_user", "この利用者は名簿にありません。")
            _keep_an_administrator(directory, command.user_id, None)
            return [UserRemoved(user_id=command.user_id)]
    raise TypeError(f"the directory cannot decide {type(command).__name__}")


DIRECTORY = Aggregate[State](
    stream_type=STREAM_TYPE,
    initial=State,
    evolve=evolve,
    events=(DirectoryImported, OrganisationSet, DistrictSet, SchoolDistrictSet, UserSet, UserRemoved),
    decide=decide,
)


def _set_organisation(directory: Directory, command: SetOrganisation) -> list[DomainEvent]:
    entry = command.entry
    if unknown := sorted(set(entry.districts) - directory.districts.keys()):
        raise InvalidCommand(
            "unknown_district",
            f"districts の地区コード「{'、'.join(unknown)}」は名簿の地区にありません。先に地区を登録してください。",
        )
    entry = entry.model_copy(
        update={
            "programs": sorted(set(entry.programs)),
            "districts": sorted(set(entry.districts)),
            "duties": sorted(set(entry.duties)),
        }
    )
    unchanged = directory.organisations.get(command.code) == entry.organisation(command.code)
    return [] if unchanged else [OrganisationSet(code=command.code, entry=entry)]


def _set_district(directory: Directory, command: SetDistrict) -> list[DomainEvent]:
    entry = command.entry
    if entry.school_district not in directory.school_districts:
        raise InvalidCommand(
            "unknown_school_district",
            f"school_district の小学校区コード「{entry.school_district}」は名簿にありません。先に小学校区を登録してください。",
        )
    wanted = District(command.code, entry.name, entry.population, entry.school_district)
    return (
        []
        if directory.districts.get(command.code) == wanted
        else [DistrictSet(code=command.code, entry=entry)]
    )


def _set_user(directory: Directory, command: SetUser) -> list[DomainEvent]:
    entry = command.entry
    if entry.organisation not in directory.organisations:
        raise InvalidCommand(
            "unknown_organisation",
            f"organisation の機関コード「{entry.organisation}」は名簿にありません。先に機関を登録してください。",
        )
    entry = entry.model_copy(update={"roles": sorted(set(entry.roles))})
    wanted = User(command.user_id, entry.organisation, frozenset(entry.roles), entry.display)
    if directory.users.get(command.user_id) == wanted:
        return []
    _keep_an_administrator(directory, command.user_id, wanted)
    return [UserSet(user_id=command.user_id, entry=entry)]


def _keep_an_administrator(directory: Directory, user_id: str, becomes: User | None) -> None:
    """Refuse a change that leaves no municipal administrator: nobody could change the directory."""
    current = directory.users.get(user_id)
    if current is None or Role.MUNICIPAL_ADMINISTRATOR not in current.roles:
        return
    if becomes is not None and Role.MUNICIPAL_ADMINISTRATOR in becomes.roles:
        return
    others = [
        u for u in directory.users.values() if u.id != user_id and Role.MUNICIPAL_ADMINISTRATOR in u.roles
    ]
    if not others:
        raise DomainError(
            "last_administrator",
            "市町村担当課の利用者がいなくなるため変更できません。先に別の利用者に市町村担当課の役割を付けてください。",
        )
