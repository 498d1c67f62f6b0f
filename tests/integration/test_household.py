"""A household on PostgreSQL: each member's identity is sealed under their own key, so erasing one
member leaves the person and the other members readable, and the register stops finding them."""

from datetime import date

from sqlalchemy import text

from contracts.glossary import AgeBand, Channel, ConsulterKind, IssueTag, Program, Relation, Role
from libs.auth import Principal
from libs.commands import Context
from libs.crypto import KeyEncryptionKey, PersonalDataCipher, is_sealed
from libs.directory import Directory, Organisation
from libs.eventstore import PostgresEventStore, RegisterQuery
from libs.http import Caller
from libs.text import query_terms
from services.intake.domain import model
from services.intake.service_layer import handlers

HOLDER = "houkatsu-chuo"
DIRECTORY = Directory(
    municipality="架空市",
    organisations={HOLDER: Organisation(HOLDER, HOLDER, frozenset({Program.INTAKE}))},
    users={},
)
WORKER = Caller(
    Principal("worker", HOLDER, frozenset({Role.INTAKE_WORKER})), Context(organisation=HOLDER, actor="worker")
)
CONSULTATION = model.ReceiveConsultation(
    channel=Channel.PHONE,
    consulter=model.Consulter(
        kind=ConsulterKind.PROFESSIONAL, organisation="kyotaku-minami", name="架空　ケア子"
    ),
    person=model.Person(name="架空　一郎", birth_date=date(1944, 2, 1)),
    household=[
        model.MemberDetails(relation=Relation.CHILD, name="架空　次郎", age=51),
        model.MemberDetails(relation=Relation.CHILD, name="架空　花子", age_band=AgeBand.MIDDLE),
    ],
    issue_tags=[IssueTag.EIGHTY_FIFTY],
    district="chuo-1",
    summary="父の介護、同居の長男がひきこもり",
    received_on=date(2026, 4, 1),
)


async def _found(store: PostgresEventStore, query: str) -> int:
    async with store.reading() as session:
        tokens = tuple(session.blind(t) for t in query_terms(query))
        return len(await session.register(RegisterQuery(organisation=HOLDER, tokens=tokens, limit=10)))


async def test_each_member_is_sealed_under_their_own_key_and_erased_alone(engine) -> None:
    store = PostgresEventStore(engine, PersonalDataCipher(KeyEncryptionKey.generate()))
    opened = await handlers.receive_consultation(store, WORKER, DIRECTORY, CONSULTATION)
    stream = handlers.stream_id(opened.case_id)

    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT data FROM events WHERE stream_id = :s AND event_type = 'ConsultationReceived'"),
                {"s": stream},
            )
        ).scalar_one()
    subject = stored["subject_ref"]
    son, daughter = stored["household"]
    assert len({son["subject_ref"], daughter["subject_ref"], subject}) == 3  # a pseudonym each
    # Each member's identity is a token of that member; the person and 相談者 are the person's.
    for member in (son, daughter):
        assert is_sealed(member["identity"]) and member["identity"]["subject"] == member["subject_ref"]
        assert member["relation"] == "child"  # coarse, in clear
    assert stored["person"]["subject"] == subject and stored["consulter"]["subject"] == subject
    assert "架空" not in str(stored)
    assert await _found(store, "次郎") == 1 and await _found(store, "花子") == 1

    admin = Caller(
        Principal("admin", "city-fukushi", frozenset({Role.MUNICIPAL_ADMINISTRATOR})),
        Context(organisation="city-fukushi", actor="admin"),
    )
    erasure = model.ErasePerson(member=son["subject_ref"], erased_on=date(2026, 6, 1))
    await handlers.erase_person(store, admin, opened.case_id, erasure)
    async with store.reading() as session:
        case = (await session.load(model.INTAKE_CASE, stream)).state
    assert [m.identity is None for m in case.household or ()] == [True, False]
    assert case.person is not None and case.person.name == "架空　一郎"
    assert case.consulter is not None and case.consulter.name == "架空　ケア子"
    assert await _found(store, "次郎") == 0 and await _found(store, "花子") == 1
