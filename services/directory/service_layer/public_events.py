"""The directory after each change → the published copy every program service keeps.

Users cross without their names: a service checks a token's organisation and roles, it has no
use for what colleagues call the person.
"""

import uuid
from collections.abc import Sequence

from contracts import events as public
from contracts.envelope import PublicEvent
from libs.domain import DomainEvent
from services.directory.domain import model

DIRECTORY_KEY = uuid.uuid5(uuid.NAMESPACE_URL, "kasane:directory")
"""The Kafka key of every version: one partition, so versions arrive in order."""

CHANGES: dict[type[DomainEvent], str] = {
    model.DirectoryImported: "imported",
    model.OrganisationSet: "organisation_set",
    model.DistrictSet: "district_set",
    model.SchoolDistrictSet: "school_district_set",
    model.UserSet: "user_set",
    model.UserRemoved: "user_removed",
}


def to_public(state: model.State, event: DomainEvent) -> Sequence[PublicEvent]:
    assert state.directory is not None
    document = state.directory.document(with_display=False)
    return [
        public.DirectoryChanged(
            case_key=DIRECTORY_KEY, version=state.version, change=CHANGES[type(event)], **document
        )
    ]
