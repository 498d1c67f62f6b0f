"""The directory's rules, decided on plain data: every code it holds names something it holds, a
change to the same is no change, and the directory always keeps an administrator."""

import pytest

from contracts.glossary import OrganisationKind, Program, Role
from libs.directory import DEFAULT_DIRECTORY, Directory
from libs.domain import DomainError, InvalidCommand, NotFound
from services.directory.domain import model
from services.directory.service_layer.public_events import to_public

SEED = Directory.load(DEFAULT_DIRECTORY).document()


def imported() -> model.State:
    state = model.DIRECTORY.initial()
    return model.DIRECTORY.fold(model.decide(model.ImportSeed(document=SEED), state), state)


def apply(state: model.State, command) -> model.State:
    return model.DIRECTORY.fold(model.decide(command, state), state)


def test_the_seed_is_imported_once_and_changes_wait_for_it():
    with pytest.raises(DomainError) as before:
        model.decide(model.RemoveUser(user_id="soudan-sato"), model.State())
    assert before.value.code == "not_imported"
    state = imported()
    assert state.version == 1 and state.directory == Directory.from_document(SEED)
    with pytest.raises(DomainError) as twice:
        model.decide(model.ImportSeed(document=SEED), state)
    assert twice.value.code == "already_imported"


def test_an_inconsistent_seed_is_refused():
    broken = {**SEED, "users": [{"id": "x", "organisation": "nowhere", "roles": ["auditor"]}]}
    with pytest.raises(InvalidCommand) as refused:
        model.decide(model.ImportSeed(document=broken), model.State())
    assert refused.value.code == "invalid_seed"


def test_an_organisation_serves_only_districts_the_directory_holds():
    entry = model.OrganisationEntry(
        name="南地域包括支援センター",
        kind=OrganisationKind.COMPREHENSIVE_SUPPORT_CENTER,
        programs=[Program.INTAKE, Program.INTAKE],
        districts=["minami-1", "nowhere-99"],
    )
    with pytest.raises(InvalidCommand) as refused:
        model.decide(model.SetOrganisation(code="houkatsu-minami", entry=entry), imported())
    assert refused.value.code == "unknown_district" and "nowhere-99" in refused.value.message
    state = apply(
        imported(),
        model.SetOrganisation(
            code="houkatsu-minami", entry=entry.model_copy(update={"districts": ["minami-1"]})
        ),
    )
    assert state.directory is not None
    organisation = state.directory.organisations["houkatsu-minami"]
    assert organisation.programs == {Program.INTAKE} and organisation.districts == {"minami-1"}
    assert state.directory.serving(Program.INTAKE, "minami-1", "city-soudan") == "houkatsu-minami"


def test_setting_an_entry_to_what_it_is_records_nothing():
    state = imported()
    assert state.directory is not None
    chuo = state.directory.organisations["houkatsu-chuo"]
    same = model.OrganisationEntry(
        name=chuo.name,
        kind=chuo.kind,
        programs=sorted(chuo.programs),
        districts=sorted(chuo.districts, reverse=True),
        duties=sorted(chuo.duties),
    )
    assert model.decide(model.SetOrganisation(code="houkatsu-chuo", entry=same), state) == []
    assert (
        model.decide(
            model.SetSchoolDistrict(code="chuo-es", entry=model.SchoolDistrictEntry(name="中央小学校区")),
            state,
        )
        == []
    )


def test_a_district_names_a_school_district_and_a_user_an_organisation():
    with pytest.raises(InvalidCommand) as district:
        model.decide(
            model.SetDistrict(
                code="minami-9",
                entry=model.DistrictEntry(name="南町九丁目", population=10, school_district="none-es"),
            ),
            imported(),
        )
    assert district.value.code == "unknown_school_district"
    with pytest.raises(InvalidCommand) as user:
        model.decide(
            model.SetUser(
                user_id="someone",
                entry=model.UserEntry(organisation="no-such-org", roles=[Role.INTAKE_WORKER], display="誰か"),
            ),
            imported(),
        )
    assert user.value.code == "unknown_organisation"


def test_the_last_administrator_stays_and_others_come_and_go():
    state = imported()
    with pytest.raises(DomainError) as removed:
        model.decide(model.RemoveUser(user_id="city-nakamura"), state)
    assert removed.value.code == "last_administrator"
    demote = model.SetUser(
        user_id="city-nakamura",
        entry=model.UserEntry(organisation="city-fukushi", roles=[Role.AUDITOR], display="中村（推進課）"),
    )
    with pytest.raises(DomainError):
        model.decide(demote, state)
    second = model.SetUser(
        user_id="city-yoshida",
        entry=model.UserEntry(
            organisation="city-fukushi", roles=[Role.MUNICIPAL_ADMINISTRATOR], display="吉田"
        ),
    )
    state = apply(apply(state, second), demote)
    assert state.directory is not None and state.directory.users["city-nakamura"].roles == {Role.AUDITOR}
    state = apply(state, model.RemoveUser(user_id="soudan-sato"))
    assert state.directory is not None and "soudan-sato" not in state.directory.users
    with pytest.raises(NotFound):
        model.decide(model.RemoveUser(user_id="soudan-sato"), state)


def test_the_published_copy_is_the_whole_directory_at_its_version_without_names():
    state = imported()
    event = model.decide(
        model.SetSchoolDistrict(code="minami2-es", entry=model.SchoolDistrictEntry(name="南第二小学校区")),
        state,
    )[0]
    after = model.DIRECTORY.evolve(state, event)
    [published] = to_public(after, event)
    assert published.version == 2 and published.change == "school_district_set"
    assert {"code": "minami2-es", "name": "南第二小学校区"} in [
        s.model_dump() for s in published.school_districts
    ]
    assert "display" not in published.model_dump_json() and len(published.users) == len(SEED["users"])
    document = published.model_dump(mode="json", exclude={"case_key", "version", "change"})
    assert Directory.from_document(document).users["city-nakamura"].display == ""
