"""Places as an Open Referral HSDS 3.0 resource directory (Human Services Data Specification).

Why HSDS: participation support matches people to places, and outside tools (the city's web
site, 211-style directories) already read HSDS; one standard export serves them all.

Shape: the HSDS 3.0 API's paged `/services` response — a Page (`total_items`, `total_pages`,
`page_number`, `size`, `first_page`, `last_page`, `empty`, `contents`) whose `contents` are full
HSDS `service` objects with nested `organization`, `schedules` and `service_at_locations[].location`
(with `addresses`). One place is one service at one location:

| Kasane                          | HSDS 3.0                                                        |
|---------------------------------|-----------------------------------------------------------------|
| place id                        | service.id                                                      |
| place name / description        | service.name / service.description; location.name              |
| open / closed                   | service.status `active` / `inactive`                            |
| target groups                   | service.eligibility_description (Japanese labels)              |
| registering organisation        | organization {id, name, description}; id = uuid5 of its code   |
| address (if registered)         | location.addresses[] {address_1, city, state_province, postal_code, country "JP", address_type "physical"} |
| schedule slots                  | schedule {freq, interval 1, byday, opens_at, closes_at (HH:MM+09:00), timezone 9, valid_from, valid_to, description} |

Participation's menus (MenuPublished/MenuUpdated, kept by community) are services too: their
id is the menu id, their organization the host, their area a `service_areas[]` entry for the
district; they have no location or schedule here, and no title either — participation keeps the
free text, so the name is the menu kind's label and the host's name (`x_kasane.source` =
"participation" tells them apart).

HSDS ids must be UUIDs, so organisation, location, address, schedule and service-at-location
ids are uuid5s derived from the place id (stable across exports). Codes HSDS has no field for
(place kind, district, school district, target group codes, multi-generational) are in an
extension object `x_kasane` on each service; HSDS consumers ignore unknown properties.
Nothing here is personal data: a place's directory entry is public by purpose.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from contracts.glossary import label_ja
from libs.directory import Directory
from services.community.domain import menu, model

HSDS_VERSION = "3.0"
_NAMESPACE = UUID("a3f0c9f4-6d2b-4c61-9d8e-2f5b7c1e8a40")
_DAYS_JA = {"MO": "月", "TU": "火", "WE": "水", "TH": "木", "FR": "金", "SA": "土", "SU": "日"}
JST_OFFSET = "+09:00"


def _id(*parts: object) -> str:
    return str(uuid5(_NAMESPACE, ":".join(str(p) for p in parts)))


def organisation_id(code: str) -> str:
    return _id("organization", code)


def _organization(code: str, directory: Directory) -> dict[str, Any]:
    org = directory.organisations.get(code)
    name = org.name if org else code
    return {
        "id": organisation_id(code),
        "name": name,
        "description": f"{name}（{directory.municipality}）。地域づくり事業（重層的支援体制整備事業）の居場所情報を登録しています。",
    }


def _day_ja(day: str) -> str:
    ordinal, weekday = day[:-2], day[-2:]
    if not ordinal:
        return f"{_DAYS_JA[weekday]}曜"
    return f"最終{_DAYS_JA[weekday]}曜" if ordinal == "-1" else f"第{ordinal}{_DAYS_JA[weekday]}曜"


def slot_text(slot: model.Slot) -> str:
    cadence = "毎週" if slot.freq == "WEEKLY" else "毎月"
    days = "・".join(_day_ja(d) for d in slot.byday)
    text = f"{cadence} {days} {slot.opens_at:%H:%M}〜{slot.closes_at:%H:%M}"
    return f"{text}（{slot.description}）" if slot.description else text


def _schedules(place: model.Place, service_id: str, location_id: str) -> list[dict[str, Any]]:
    registered = place.registered
    assert registered is not None
    return [
        {
            "id": _id("schedule", service_id, index),
            "service_id": service_id,
            "location_id": location_id,
            "valid_from": registered.opened_on.isoformat(),
            "valid_to": place.closed_on.isoformat() if place.closed_on else None,
            "freq": slot.freq,
            "interval": 1,
            "byday": ",".join(slot.byday),
            "opens_at": f"{slot.opens_at:%H:%M}{JST_OFFSET}",
            "closes_at": f"{slot.closes_at:%H:%M}{JST_OFFSET}",
            "timezone": 9,
            "description": slot_text(slot),
        }
        for index, slot in enumerate(registered.schedule)
    ]


def _location(place: model.Place, location_id: str, organization_id: str) -> dict[str, Any]:
    registered = place.registered
    assert registered is not None
    addresses = []
    if registered.address is not None:
        a = registered.address
        addresses.append(
            {
                "id": _id("address", registered.place_id),
                "location_id": location_id,
                "address_1": a.street,
                "city": a.city,
                "state_province": a.prefecture,
                "postal_code": a.postal_code,
                "country": "JP",
                "address_type": "physical",
            }
        )
    return {
        "id": location_id,
        "location_type": "physical",
        "organization_id": organization_id,
        "name": registered.name,
        "description": f"{label_ja(registered.kind)}（地区: {registered.district}、小学校区: {registered.school_district}）",
        "addresses": addresses,
    }


def service(place: model.Place, directory: Directory) -> dict[str, Any]:
    """One place as a full HSDS service object."""
    registered = place.registered
    assert registered is not None
    service_id = str(registered.place_id)
    location_id = _id("location", registered.place_id)
    organization = _organization(registered.holder_organisation, directory)
    return {
        "id": service_id,
        "organization_id": organization["id"],
        "name": registered.name,
        "description": registered.description or label_ja(registered.kind),
        "status": "inactive" if place.closed_on else "active",
        "eligibility_description": "、".join(label_ja(t) for t in registered.target_groups),
        "organization": organization,
        "schedules": _schedules(place, service_id, location_id),
        "service_at_locations": [
            {
                "id": _id("service_at_location", registered.place_id),
                "service_id": service_id,
                "location_id": location_id,
                "location": _location(place, location_id, organization["id"]),
            }
        ],
        "x_kasane": {
            "source": "community",
            "kind": registered.kind,
            "kind_label": label_ja(registered.kind),
            "district": registered.district,
            "school_district": registered.school_district,
            "target_groups": list(registered.target_groups),
            "multi_generational": registered.multi_generational,
            "opened_on": registered.opened_on.isoformat(),
            "closed_on": place.closed_on.isoformat() if place.closed_on else None,
        },
    }


def menu_service(noted: menu.MenuNoted, directory: Directory) -> dict[str, Any]:
    """One participation menu as an HSDS service available in a district."""
    service_id = str(noted.menu_id)
    organization = _organization(noted.host_organisation, directory)
    kind = label_ja(noted.kind)
    return {
        "id": service_id,
        "organization_id": organization["id"],
        "name": f"{kind}（{organization['name']}）",
        "description": f"参加支援事業のメニュー: {kind}。詳しくは参加支援事業の担当者にお問い合わせください。",
        "status": "active" if noted.status == "active" else "inactive",
        "eligibility_description": "、".join(label_ja(t) for t in noted.target_groups) or "どなたでも",
        "organization": organization,
        "schedules": [],
        "service_at_locations": [],
        "service_areas": [
            {
                "id": _id("service_area", noted.menu_id),
                "service_id": service_id,
                "name": noted.district,
                "description": f"地区 {noted.district}",
            }
        ],
        "x_kasane": {
            "source": "participation",
            "menu_kind": noted.kind,
            "menu_kind_label": kind,
            "district": noted.district,
            "capacity": noted.capacity,
            "target_groups": list(noted.target_groups),
            "as_of": noted.as_of.isoformat(),
        },
    }


def page(
    places: list[model.Place],
    directory: Directory,
    *,
    menus: Sequence[menu.MenuNoted] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """Every place and menu as one HSDS Page (the directory is small enough for one page)."""
    contents = [service(p, directory) for p in places if p.registered is not None]
    contents += [menu_service(m, directory) for m in menus]
    return {
        "hsds_version": HSDS_VERSION,
        "generated_at": (now or datetime.now(UTC)).isoformat(),
        "total_items": len(contents),
        "total_pages": 1,
        "page_number": 1,
        "size": len(contents),
        "first_page": True,
        "last_page": True,
        "empty": not contents,
        "contents": contents,
    }
