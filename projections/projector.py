"""Public events → read model rows, applied inside the checkpoint's transaction (libs/checkpoints.py).

Only public events are used: the projector has no access to any service's database, and the
`projections` Kafka principal may read every event topic but write nothing. A message that cannot
be decoded is recorded in `skipped_messages` and passed over, because a projection that stops at
one bad message would freeze the whole dashboard; its position is enough to find it in the log.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from aiokafka import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import events as ev
from contracts.envelope import Envelope, PublicEvent
from contracts.topics import EVENT_TOPICS
from libs.inbox import PermanentError, decode
from projections.schema import SCHEMA

log = logging.getLogger(__name__)

PROJECTION = "dashboard"
"""The projection's name: its checkpoint rows and its consumer group `projection.dashboard`."""

TOPICS: tuple[str, ...] = EVENT_TOPICS

S = SCHEMA


def _sql(statement: str) -> str:
    return statement.replace("§", S)


_APPLIED = text(
    _sql(
        "INSERT INTO §.applied_events (event_id) SELECT unnest(CAST(:ids AS uuid[])) "
        "ON CONFLICT DO NOTHING RETURNING event_id"
    )
)
_SKIPPED = text(
    _sql(
        'INSERT INTO §.skipped_messages (topic, partition, "offset", reason) VALUES (:t, :p, :o, :r) '
        "ON CONFLICT DO NOTHING"
    )
)
_STEP = text(
    _sql(
        "INSERT INTO §.case_steps (case_key, step, on_date, organisation) VALUES (:k, :s, :d, :o) "
        "ON CONFLICT (case_key, step) DO UPDATE SET on_date = excluded.on_date, organisation = excluded.organisation "
        # The earliest (date, organisation) wins whatever order the events arrive in.
        "WHERE (excluded.on_date, excluded.organisation) < (case_steps.on_date, case_steps.organisation)"
    )
)
_OPEN = text(
    _sql(
        "INSERT INTO §.holdings (program, unit_id, case_key, organisation, opened_on) VALUES (:p, :u, :k, :o, :d) "
        "ON CONFLICT (program, unit_id) DO UPDATE SET organisation = excluded.organisation, "
        "opened_on = LEAST(holdings.opened_on, excluded.opened_on)"
    )
)
_CLOSE = text(
    _sql(
        "INSERT INTO §.holdings (program, unit_id, case_key, closed_on) VALUES (:p, :u, :k, :d) "
        "ON CONFLICT (program, unit_id) DO UPDATE SET closed_on = LEAST(holdings.closed_on, excluded.closed_on)"
    )
)


async def _step(conn: AsyncConnection, env: Envelope, step: str, on: date) -> None:
    await conn.execute(_STEP, {"k": env.case_key, "s": step, "d": on, "o": env.organisation})


async def _open(conn: AsyncConnection, env: Envelope, program: str, unit: UUID, on: date) -> None:
    await conn.execute(_OPEN, {"p": program, "u": unit, "k": env.case_key, "o": env.organisation, "d": on})


async def _close(conn: AsyncConnection, env: Envelope, program: str, unit: UUID, on: date) -> None:
    await conn.execute(_CLOSE, {"p": program, "u": unit, "k": env.case_key, "d": on})


async def _insert(conn: AsyncConnection, table: str, row: dict[str, object], key: str) -> None:
    """Insert one fact row; a second event for the same key is a duplicate and changes nothing."""
    columns = ", ".join(row)
    values = ", ".join(f":{c}" for c in row)
    await conn.execute(
        # Table and column names come from this module, never from a message; values are bound.
        text(f"INSERT INTO {S}.{table} ({columns}) VALUES ({values}) ON CONFLICT ({key}) DO NOTHING"),  # noqa: S608
        row,
    )


async def _merge(
    conn: AsyncConnection, table: str, key: str, row: dict[str, object], first: Sequence[str] = ()
) -> None:
    """Upsert the columns this event owns; columns in `first` keep their earliest value (LEAST)."""
    columns = ", ".join(row)
    values = ", ".join(f":{c}" for c in row)
    updates = ", ".join(
        f"{c} = LEAST({table}.{c}, excluded.{c})" if c in first else f"{c} = excluded.{c}"
        for c in row
        if c != key
    )
    await conn.execute(
        text(
            f"INSERT INTO {S}.{table} ({columns}) VALUES ({values}) "  # noqa: S608 (names from code)
            f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
        ),
        row,
    )


async def _case_received(conn: AsyncConnection, env: Envelope, e: ev.CaseReceived) -> None:
    row = {
        "case_key": e.case_key,
        "received_on": e.received_on,
        "organisation": env.organisation,
        "district": e.district,
        "channel": e.channel.value,
        "issue_tags": sorted(t.value for t in e.issue_tags),
        "age_band": e.age_band.value,
        "household_size": e.household_size,
    }
    await _insert(conn, "cases", row, "case_key")
    await _step(conn, env, "received", e.received_on)
    await _open(conn, env, "intake", e.case_key, e.received_on)


async def _referred(conn: AsyncConnection, env: Envelope, e: ev.ReferredToCoordination) -> None:
    await _step(conn, env, "referred", e.referred_on)


async def _accepted(conn: AsyncConnection, env: Envelope, e: ev.ReferralAccepted) -> None:
    await _step(conn, env, "accepted", e.accepted_on)
    await _open(conn, env, "coordination", e.coordination_case_id, e.accepted_on)


async def _plan_agreed(conn: AsyncConnection, env: Envelope, e: ev.PlanAgreed) -> None:
    await _step(conn, env, "plan_agreed", e.agreed_on)
    row = {
        "event_id": env.event_id,
        "case_key": e.case_key,
        "plan_version": e.plan_version,
        "meeting_type": e.meeting_type.value,
        "agreed_on": e.agreed_on,
        "meeting_key": meeting_key(e),
    }
    await _insert(conn, "plans_agreed", row, "event_id")


def meeting_key(e: ev.PlanAgreed) -> str:
    """One meeting = one day, meeting type and set of member organisations (PlanAgreed names no
    meeting id), so several plans agreed at one sitting count as one meeting held."""
    return "|".join((e.agreed_on.isoformat(), e.meeting_type.value, *sorted(set(e.meeting_members))))


async def _concluded(conn: AsyncConnection, env: Envelope, e: ev.SupportConcluded) -> None:
    await _step(conn, env, "concluded", e.concluded_on)
    await _close(conn, env, "coordination", e.coordination_case_id, e.concluded_on)
    row = {
        "event_id": env.event_id,
        "case_key": e.case_key,
        "coordination_case_id": e.coordination_case_id,
        "outcome": e.outcome.value,
        "concluded_on": e.concluded_on,
    }
    await _insert(conn, "conclusions", row, "event_id")


async def _returned(conn: AsyncConnection, env: Envelope, e: ev.ReturnedToOrigin) -> None:
    await _step(conn, env, "returned", e.returned_on)
    row = {
        "event_id": env.event_id,
        "case_key": e.case_key,
        "reason": e.reason.value,
        "returned_on": e.returned_on,
    }
    await _insert(conn, "returns", row, "event_id")
    if e.coordination_case_id is not None:
        await _close(conn, env, "coordination", e.coordination_case_id, e.returned_on)


async def _closed(conn: AsyncConnection, env: Envelope, e: ev.CaseClosed) -> None:
    await _step(conn, env, "closed", e.closed_on)
    await _close(conn, env, "intake", e.case_key, e.closed_on)


async def _to_outreach(conn: AsyncConnection, env: Envelope, e: ev.ReferredToOutreach) -> None:
    await _step(conn, env, "referred_outreach", e.referred_on)


async def _to_participation(conn: AsyncConnection, env: Envelope, e: ev.ReferredToParticipation) -> None:
    await _step(conn, env, "referred_participation", e.referred_on)


async def _found(conn: AsyncConnection, env: Envelope, e: ev.PotentialClientIdentified) -> None:
    row = {
        "outreach_case_id": e.outreach_case_id,
        "case_key": e.case_key,
        "identified_by": e.identified_by.value,
        "district": e.district,
        "identified_on": e.identified_on,
    }
    await _insert(conn, "outreach_found", row, "outreach_case_id")
    await _open(conn, env, "outreach", e.outreach_case_id, e.identified_on)


async def _attempt(conn: AsyncConnection, env: Envelope, e: ev.ContactAttempted) -> None:
    row = {
        "event_id": env.event_id,
        "outreach_case_id": e.outreach_case_id,
        "method": e.method.value,
        "outcome": e.outcome.value,
        "attempted_on": e.attempted_on,
    }
    await _insert(conn, "contact_attempts", row, "event_id")


async def _connected(conn: AsyncConnection, env: Envelope, e: ev.ConnectedToSupport) -> None:
    row = {
        "event_id": env.event_id,
        "outreach_case_id": e.outreach_case_id,
        "connected_to": e.connected_to.value,
        "district": e.district,
        "connected_on": e.connected_on,
    }
    await _insert(conn, "outreach_connections", row, "event_id")


async def _outreach_concluded(conn: AsyncConnection, env: Envelope, e: ev.OutreachConcluded) -> None:
    await _close(conn, env, "outreach", e.outreach_case_id, e.concluded_on)


async def _participation_accepted(conn: AsyncConnection, env: Envelope, e: ev.ParticipationAccepted) -> None:
    await _step(conn, env, "participation_accepted", e.accepted_on)
    await _open(conn, env, "participation", e.participation_case_id, e.accepted_on)


async def _placement_started(conn: AsyncConnection, env: Envelope, e: ev.PlacementStarted) -> None:
    row = {
        "placement_id": e.placement_id,
        "menu_kind": e.menu_kind.value,
        "district": e.district,
        "started_on": e.started_on,
    }
    await _merge(conn, "placements", "placement_id", row, first=("started_on",))


async def _placement_ended(conn: AsyncConnection, env: Envelope, e: ev.PlacementEnded) -> None:
    row = {
        "placement_id": e.placement_id,
        "started_on": e.started_on,
        "ended_on": e.ended_on,
        "outcome": e.outcome.value,
        "days_placed": e.days_placed,
    }
    await _merge(conn, "placements", "placement_id", row, first=("started_on", "ended_on"))


async def _followed_up(conn: AsyncConnection, env: Envelope, e: ev.PlacementFollowedUp) -> None:
    row = {
        "event_id": env.event_id,
        "placement_id": e.placement_id,
        "status": e.status.value,
        "followed_up_on": e.followed_up_on,
    }
    await _insert(conn, "placement_followups", row, "event_id")


async def _place_registered(conn: AsyncConnection, env: Envelope, e: ev.PlaceRegistered) -> None:
    row = {
        "place_id": e.place_id,
        "kind": e.kind.value,
        "district": e.district,
        "school_district": e.school_district,
        "multi_generational": e.multi_generational,
        "opened_on": e.opened_on,
    }
    await _merge(conn, "places", "place_id", row, first=("opened_on",))


async def _place_closed(conn: AsyncConnection, env: Envelope, e: ev.PlaceClosed) -> None:
    await _merge(
        conn, "places", "place_id", {"place_id": e.place_id, "closed_on": e.closed_on}, ("closed_on",)
    )


async def _activity(conn: AsyncConnection, env: Envelope, e: ev.ActivityHeld) -> None:
    row = {
        "event_id": env.event_id,
        "activity_id": e.activity_id,
        "place_id": e.place_id,
        "district": e.district,
        "school_district": e.school_district,
        "held_on": e.held_on,
        "children": e.attendance.children,
        "youth": e.attendance.youth,
        "working_age": e.attendance.working_age,
        "older": e.attendance.older,
        "volunteers": e.volunteer_count,
        "new_resident_led": e.new_resident_led,
    }
    await _insert(conn, "activities", row, "event_id")


async def _platform(conn: AsyncConnection, env: Envelope, e: ev.PlatformMeetingHeld) -> None:
    row = {"meeting_id": e.meeting_id, "district": e.district, "held_on": e.held_on}
    await _insert(conn, "platform_meetings", row, "meeting_id")


async def _missing(conn: AsyncConnection, env: Envelope, e: ev.MissingResourceNoted) -> None:
    row = {
        "event_id": env.event_id,
        "meeting_id": e.meeting_id,
        "meeting_type": e.meeting_type.value,
        "resource_kind": e.resource_kind.value,
        "district": e.district,
        "held_on": e.held_on,
    }
    await _insert(conn, "missing_resources", row, "event_id")


Apply = Callable[[AsyncConnection, Envelope, PublicEvent], Awaitable[None]]

APPLY: dict[type[PublicEvent], Apply] = {  # type: ignore[dict-item]
    ev.CaseReceived: _case_received,
    ev.ReferredToCoordination: _referred,
    ev.ReferralAccepted: _accepted,
    ev.PlanAgreed: _plan_agreed,
    ev.SupportConcluded: _concluded,
    ev.ReturnedToOrigin: _returned,
    ev.CaseClosed: _closed,
    ev.ReferredToOutreach: _to_outreach,
    ev.ReferredToParticipation: _to_participation,
    ev.PotentialClientIdentified: _found,
    ev.ContactAttempted: _attempt,
    ev.ConnectedToSupport: _connected,
    ev.OutreachConcluded: _outreach_concluded,
    ev.ParticipationAccepted: _participation_accepted,
    ev.PlacementStarted: _placement_started,
    ev.PlacementEnded: _placement_ended,
    ev.PlacementFollowedUp: _followed_up,
    ev.PlaceRegistered: _place_registered,
    ev.PlaceClosed: _place_closed,
    ev.ActivityHeld: _activity,
    ev.PlatformMeetingHeld: _platform,
    ev.MissingResourceNoted: _missing,
}
"""Event types the dashboard uses; every other public event is read and ignored."""


class _Writes:
    """A batch's read-model writes, sent as one executemany per statement rather than one round
    trip per row (the projector's cost was almost all round trips).

    Sound because every read-model write commutes (projections/schema.py): grouping a batch's rows
    by statement, each statement's rows still in arrival order, reaches the same tables as applying
    them event by event. Anything but a plain INSERT first sends what is pending, so a read sees
    every earlier write of the batch.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._pending: dict[str, tuple[Any, list[dict[str, Any]]]] = {}

    async def execute(self, statement: Any, parameters: dict[str, Any] | None = None) -> Any:
        sql = str(statement)
        if (
            isinstance(parameters, dict)
            and sql.lstrip().upper().startswith("INSERT")
            and "RETURNING" not in sql
        ):
            self._pending.setdefault(sql, (statement, []))[1].append(parameters)
            return None
        await self.flush()
        return await self._conn.execute(statement, parameters)

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for statement, rows in pending.values():
            await self._conn.execute(statement, rows)


async def apply(conn: AsyncConnection, records: Sequence[ConsumerRecord]) -> None:
    """The `Apply` of libs.checkpoints.Projector: one partition's batch, in its transaction."""
    writes = _Writes(conn)
    deliveries = []
    for record in records:
        try:
            delivery = decode(record)
        except PermanentError:
            log.warning(
                "skipping undecodable message %s[%d]@%d", record.topic, record.partition, record.offset
            )
            await writes.execute(
                _SKIPPED, {"t": record.topic, "p": record.partition, "o": record.offset, "r": "undecodable"}
            )
            continue
        if type(delivery.event) in APPLY:
            deliveries.append(delivery)
    # One statement marks the whole batch applied; ids already there are redelivered duplicates.
    ids = [d.envelope.event_id for d in deliveries]
    first = {row.event_id for row in await conn.execute(_APPLIED, {"ids": ids})} if ids else set()
    for delivery in deliveries:
        if delivery.envelope.event_id not in first:
            continue  # a redelivered duplicate (or a second copy within this batch): already counted
        first.discard(delivery.envelope.event_id)
        await APPLY[type(delivery.event)](writes, delivery.envelope, delivery.event)  # type: ignore[arg-type]
    await writes.flush()
