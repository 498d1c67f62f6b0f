"""Reading any published version of a public event as its current version (upcasting).

One registry of pure functions, each lifting a payload by exactly one version (v1→v2, v2→v3 …).
Every reader of public events goes through `read_event`: the inbox and the projector (through
`libs.inbox.decode`), the DLQ tool, tests. An old payload is first validated against its own
frozen model (`contracts/superseded.py`), so a malformed v1 is refused as v1, then lifted step
by step and validated against the current model. The chains are checked when this module is
imported: a missing step or an upcaster for a version that does not exist fails every service
at start-up rather than one message at run time (docs/adr/0006).
"""

from collections.abc import Callable
from typing import Any

from contracts.envelope import PublicEvent
from contracts.events import EVENT_TYPES, split_outcome
from contracts.glossary import ContactOutcome, Relation
from contracts.superseded import SUPERSEDED

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class UnsupportedVersion(ValueError):
    """A version this code cannot read: from the future, or below 1."""


def contact_attempted_v1_v2(payload: Payload) -> Payload:
    """`outcome` split into `reached` and `response`; every v1 code has exactly one v2 reading."""
    out = {k: v for k, v in payload.items() if k != "outcome"}
    reached, response = split_outcome(ContactOutcome(payload["outcome"]))
    out["reached"] = reached.value
    out["response"] = None if response is None else response.value
    return out


def referred_to_coordination_v1_v2(payload: Payload) -> Payload:
    """v1 referrals were for the person the intake case is about: that person is the one member."""
    member = {
        "subject_ref": payload["subject_ref"],
        "relation": Relation.SELF.value,
        "age_band": payload["age_band"],
    }
    return {**payload, "members": [member]}


def place_registered_v1_v2(payload: Payload) -> Payload:
    """v1 places did not say which 包括化対象事業 they run under, and nothing else in them tells:
    None (not recorded), which v2 keeps apart from [] (none of them)."""
    return {**payload, "integrated_schemes": None}


def activity_held_v1_v2(payload: Payload) -> Payload:
    """v1 activities did not say which 包括化対象事業 they were held under: None (not recorded)."""
    return {**payload, "integrated_scheme": None}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("ContactAttempted", 1): contact_attempted_v1_v2,
    ("ReferredToCoordination", 1): referred_to_coordination_v1_v2,
    ("PlaceRegistered", 1): place_registered_v1_v2,
    ("ActivityHeld", 1): activity_held_v1_v2,
}
"""(event type, from version) → the function that lifts a payload of that version by one."""


def check_chains(
    upcasters: dict[tuple[str, int], Upcaster] = UPCASTERS,
    superseded: dict[tuple[str, int], type[PublicEvent]] = SUPERSEDED,
) -> list[str]:
    """Every gap, stray step or missing frozen model in the registry; empty when sound."""
    problems = []
    for event_type, model in EVENT_TYPES.items():
        for version in range(1, model.schema_version):
            if (event_type, version) not in upcasters:
                problems.append(f"{event_type}: no upcaster from v{version}")
            if (event_type, version) not in superseded:
                problems.append(f"{event_type}: no frozen model of v{version}")
    for event_type, version in [*upcasters, *superseded]:
        model = EVENT_TYPES.get(event_type)
        if model is None or not 1 <= version < model.schema_version:
            problems.append(f"{event_type}: v{version} is not an older version of a current event")
    return sorted(set(problems))


_PROBLEMS = check_chains()
if _PROBLEMS:
    raise RuntimeError("upcaster registry is broken: " + "; ".join(_PROBLEMS))


def upcast(event_type: str, version: int, payload: Payload) -> Payload:
    """`payload` of `version` lifted to the current version of `event_type` (not validated)."""
    current = EVENT_TYPES[event_type].schema_version
    if not 1 <= version <= current:
        raise UnsupportedVersion(f"unsupported schema version {version} of {event_type}")
    while version < current:
        payload = UPCASTERS[(event_type, version)](payload)
        version += 1
    return payload


def read_event(event_type: str, version: int, payload: Payload) -> PublicEvent:
    """A payload of any published version as a validated event of the current version.

    Raises KeyError for an unknown event type, UnsupportedVersion for an unknown version, and
    pydantic's ValidationError when the payload does not match its own version's contract.
    """
    model = EVENT_TYPES[event_type]
    if 1 <= version < model.schema_version:
        # Validate as what it claims to be, then lift its canonical JSON form.
        payload = SUPERSEDED[(event_type, version)].model_validate(payload).model_dump(mode="json")
    return model.model_validate(upcast(event_type, version, payload))
