"""The directory service's use cases: the seed read once, the administrator's changes, the reads.

Every change is one event on the directory's one stream, appended at the version the
administrator saw (If-Match) or re-decided on the newest, and published whole through the
outbox (`DirectoryChanged`), so each program service's copy moves to it.
"""

import logging
from typing import Any

from sqlalchemy import text

from libs import commands
from libs.authz import enforce
from libs.commands import Context, Outcome
from libs.directory import Directory
from libs.directory_copy import DirectoryCopy
from libs.domain import Command
from libs.eventstore import ConcurrencyError, EventStore, Loaded, PostgresEventStore
from libs.http import Caller
from services.directory.domain import model
from services.directory.service_layer import authorization
from services.directory.service_layer.public_events import to_public

log = logging.getLogger(__name__)

IMPORTER = "directory-seed"
"""The actor recorded for the seed: no person imported it."""

_VERSION = text("SELECT max(version) FROM events WHERE stream_id = :s")


class OwnDirectory(DirectoryCopy):
    """The directory service's own directory in use: its stream, re-read when its version moves
    (another process of the service may have changed it)."""

    def __init__(self, store: PostgresEventStore, seed: Directory) -> None:
        super().__init__(store.engine, seed)
        self.store = store

    async def refresh(self) -> None:
        async with self.engine.connect() as conn:
            stored = (await conn.execute(_VERSION, {"s": model.STREAM_ID})).scalar()
        if stored is None or stored <= self.version:
            return
        async with self.store.reading() as session:
            loaded = await session.load(model.DIRECTORY, model.STREAM_ID)
        if loaded.state.directory is not None:
            self.current, self.version = loaded.state.directory, loaded.version


async def import_seed(store: EventStore, seed: dict[str, Any], organisation: str) -> None:
    """The directory's first version, from the municipality's file, once: a later start (or a
    second process starting with this one) finds it there and records nothing."""
    ctx = Context(organisation=organisation, actor=IMPORTER, by_person=False)
    try:
        await commands.run(
            store,
            model.DIRECTORY,
            model.STREAM_ID,
            model.ImportSeed(document=seed),
            to_public,
            ctx,
            expected_version=0,
        )
        log.info("directory imported from its seed")
    except ConcurrencyError:
        pass


Change = (
    model.SetOrganisation | model.SetDistrict | model.SetSchoolDistrict | model.SetUser | model.RemoveUser
)

ACTIONS: dict[type[Command], str] = {
    model.SetOrganisation: "set_organisation",
    model.SetDistrict: "set_district",
    model.SetSchoolDistrict: "set_school_district",
    model.SetUser: "set_user",
    model.RemoveUser: "remove_user",
}


async def change(
    store: EventStore, caller: Caller, keeper: str, command: Change, expected_version: int | None
) -> Outcome[model.State]:
    """One change by a municipal administrator of `keeper` (403 for anyone else)."""
    enforce(
        authorization.may_administer(caller.principal, keeper),
        caller.principal,
        ACTIONS[type(command)],
        "directory",
        hide=False,
    )
    return await commands.run(
        store,
        model.DIRECTORY,
        model.STREAM_ID,
        command,
        to_public,
        caller.context,
        expected_version=expected_version,
    )


async def read(store: EventStore) -> Loaded[model.State]:
    async with store.reading() as session:
        return await session.load(model.DIRECTORY, model.STREAM_ID)


async def read_directory(store: EventStore, caller: Caller) -> Loaded[model.State]:
    enforce(
        authorization.may_read(caller.principal), caller.principal, "read_directory", "directory", hide=False
    )
    return await read(store)


async def read_users(store: EventStore, caller: Caller, keeper: str) -> Loaded[model.State]:
    enforce(
        authorization.may_read_users(caller.principal, keeper),
        caller.principal,
        "read_users",
        "directory-users",
        hide=False,
    )
    return await read(store)
