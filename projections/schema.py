"""The read models: plain SQL tables in their own PostgreSQL schema, one row per fact.

Why facts (one row per case, placement, activity …) rather than pre-summed counters: the
dashboard filters by any date range and district, which counters per month could not answer
exactly, and the volumes are small (a city of 170,000 has a few thousand consultations a year).

Why every write is commutative (first dates by LEAST, keys by event or entity id, attributes set
by the one event that owns them): partitions of different topics interleave differently on every
run, so a rebuild must reach the same tables whatever the order. Duplicated deliveries (the outbox
relay is at-least-once, ADR 0002) are dropped by `applied_events`.

Everything lives in the schema `read_models`, so `rebuild` drops exactly the read side and nothing
else; the checkpoints stay in `projection_checkpoint` (libs/db.py) and are deleted per projection.
"""

SCHEMA = "read_models"

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};

-- Every event id applied once: a redelivered duplicate stops here.
CREATE TABLE IF NOT EXISTS {SCHEMA}.applied_events (
    event_id    uuid PRIMARY KEY
);

-- Messages that could not be decoded: their position only (their bytes may be anything).
CREATE TABLE IF NOT EXISTS {SCHEMA}.skipped_messages (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint  NOT NULL,
    reason      text    NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
);

-- One row per consultation received at intake (CaseReceived).
CREATE TABLE IF NOT EXISTS {SCHEMA}.cases (
    case_key        uuid PRIMARY KEY,
    received_on     date    NOT NULL,
    organisation    text    NOT NULL,
    district        text    NOT NULL,
    channel         text    NOT NULL,
    issue_tags      text[]  NOT NULL,
    age_band        text    NOT NULL,
    household_size  integer NOT NULL
);

-- The first date each step of the flow happened for a case, and the organisation that took it.
CREATE TABLE IF NOT EXISTS {SCHEMA}.case_steps (
    case_key        uuid NOT NULL,
    step            text NOT NULL,
    on_date         date NOT NULL,
    organisation    text NOT NULL,
    PRIMARY KEY (case_key, step)
);

-- A case held by one organisation of one program, from opening to closing (open cases).
CREATE TABLE IF NOT EXISTS {SCHEMA}.holdings (
    program         text NOT NULL,
    unit_id         uuid NOT NULL,
    case_key        uuid NOT NULL,
    organisation    text,
    opened_on       date,
    closed_on       date,
    PRIMARY KEY (program, unit_id)
);

-- Each agreed plan version (PlanAgreed), with the kind of meeting that agreed it and the
-- meeting's key (day, type, members: public events carry no meeting id).
CREATE TABLE IF NOT EXISTS {SCHEMA}.plans_agreed (
    event_id        uuid PRIMARY KEY,
    case_key        uuid    NOT NULL,
    plan_version    integer NOT NULL,
    meeting_type    text    NOT NULL,
    agreed_on       date    NOT NULL,
    meeting_key     text    NOT NULL
);
-- Tables made before KPI 2026.2 lack the column: add it so the projector can write, and the rows
-- already there get their key only from `python -m projections rebuild` (see projections/kpi.py).
ALTER TABLE {SCHEMA}.plans_agreed ADD COLUMN IF NOT EXISTS meeting_key text;

-- Coordination's conclusions (SupportConcluded) with their evaluation: the resolution rate.
CREATE TABLE IF NOT EXISTS {SCHEMA}.conclusions (
    event_id        uuid PRIMARY KEY,
    case_key        uuid NOT NULL,
    coordination_case_id uuid NOT NULL,
    outcome         text NOT NULL,
    concluded_on    date NOT NULL
);

-- Every return to the referring organisation (ReturnedToOrigin), with its reason: the return rate.
CREATE TABLE IF NOT EXISTS {SCHEMA}.returns (
    event_id        uuid PRIMARY KEY,
    case_key        uuid NOT NULL,
    reason          text NOT NULL,
    returned_on     date NOT NULL
);

-- Local resources a case meeting found missing (MissingResourceNoted), by meeting.
CREATE TABLE IF NOT EXISTS {SCHEMA}.missing_resources (
    event_id        uuid PRIMARY KEY,
    meeting_id      uuid NOT NULL,
    meeting_type    text NOT NULL,
    resource_kind   text NOT NULL,
    district        text NOT NULL,
    held_on         date NOT NULL
);

-- Outreach: people found, attempts to reach them, connections made.
CREATE TABLE IF NOT EXISTS {SCHEMA}.outreach_found (
    outreach_case_id uuid PRIMARY KEY,
    case_key        uuid NOT NULL,
    identified_by   text NOT NULL,
    district        text NOT NULL,
    identified_on   date NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.contact_attempts (
    event_id        uuid PRIMARY KEY,
    outreach_case_id uuid NOT NULL,
    method          text NOT NULL,
    outcome         text NOT NULL,
    attempted_on    date NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.outreach_connections (
    event_id        uuid PRIMARY KEY,
    outreach_case_id uuid NOT NULL,
    connected_to    text NOT NULL,
    district        text NOT NULL,
    connected_on    date NOT NULL
);

-- Participation: placements (start, end) and their follow-ups.
CREATE TABLE IF NOT EXISTS {SCHEMA}.placements (
    placement_id    uuid PRIMARY KEY,
    menu_kind       text,
    district        text,
    started_on      date,
    ended_on        date,
    outcome         text,
    days_placed     integer
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.placement_followups (
    event_id        uuid PRIMARY KEY,
    placement_id    uuid    NOT NULL,
    status          text    NOT NULL,
    followed_up_on  date    NOT NULL
);

-- Community: places, activities with attendance by generation, platform meetings.
CREATE TABLE IF NOT EXISTS {SCHEMA}.places (
    place_id        uuid PRIMARY KEY,
    kind            text,
    district        text,
    school_district text,
    multi_generational boolean,
    opened_on       date,
    closed_on       date
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.activities (
    event_id        uuid PRIMARY KEY,
    activity_id     uuid    NOT NULL,
    place_id        uuid    NOT NULL,
    district        text    NOT NULL,
    school_district text    NOT NULL,
    held_on         date    NOT NULL,
    children        integer NOT NULL,
    youth           integer NOT NULL,
    working_age     integer NOT NULL,
    older           integer NOT NULL,
    volunteers      integer NOT NULL,
    new_resident_led boolean NOT NULL
);
CREATE TABLE IF NOT EXISTS {SCHEMA}.platform_meetings (
    meeting_id      uuid PRIMARY KEY,
    district        text,
    held_on         date NOT NULL
)
"""

TABLES: tuple[str, ...] = (
    "applied_events",
    "skipped_messages",
    "cases",
    "case_steps",
    "holdings",
    "plans_agreed",
    "conclusions",
    "returns",
    "missing_resources",
    "outreach_found",
    "contact_attempts",
    "outreach_connections",
    "placements",
    "placement_followups",
    "places",
    "activities",
    "platform_meetings",
)
"""Every read model table, in a stable order (dumps for comparison, rebuild)."""
