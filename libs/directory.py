"""The municipality's organisations, districts and users, and the programs each organisation runs.

Authorisation needs to know, for a user's organisation, which program it runs (consent is
given per program); commands are checked against its organisation and district codes; cases
are routed by its districts. The municipality keeps it in its directory service
(services/directory), which publishes each new version; every service keeps the latest copy
(libs/directory_copy.py). `KASANE_DIRECTORY` points to the JSON file the directory starts from
(the demo town's by default), also what a service uses before the first version reaches it.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.glossary import OrganisationKind, Program, Role, StatutoryDuty

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[1] / "deploy" / "demo-municipality.json"


@dataclass(frozen=True)
class Organisation:
    """An organisation of the municipality: one that runs programs of the business, or a 支援関係機関
    (hospital, school, Hello Work …) that never signs in but takes roles and receives referrals.

    `districts`: the areas it serves for its programs (苫小牧市's 7 地域包括支援センター each serve
    their own); empty for one that serves the whole municipality.
    """

    id: str
    name: str
    programs: frozenset[Program]
    districts: frozenset[str] = frozenset()
    kind: OrganisationKind = OrganisationKind.OTHER
    duties: frozenset[StatutoryDuty] = frozenset()
    """Statutory duties it holds (虐待対応 …): with a program, what lets its workers break the glass."""


@dataclass(frozen=True)
class User:
    """A person who signs in: their organisation and roles, which every token must match.

    `display` (the name colleagues know them by) stays in the directory service: copies
    published to the other services carry it empty."""

    id: str
    organisation: str
    roles: frozenset[Role]
    display: str = ""


@dataclass(frozen=True)
class District:
    """An area the municipality reports by; its population turns counts into rates per 100,000."""

    code: str
    name: str
    population: int
    school_district: str


@dataclass(frozen=True)
class Directory:
    municipality: str
    organisations: dict[str, Organisation]
    users: dict[str, User]
    districts: dict[str, District] = field(default_factory=dict)
    school_districts: dict[str, str] = field(default_factory=dict)
    """School district (小学校区) code → name."""

    @property
    def population(self) -> int:
        return sum(d.population for d in self.districts.values())

    def programs_of(self, organisation: str) -> frozenset[Program]:
        org = self.organisations.get(organisation)
        return org.programs if org else frozenset()

    def serving(self, program: Program, district: str, preferred: str) -> str:
        """The organisation a case of `district` goes to in `program`: one that serves that district,
        else one that serves the whole municipality; `preferred` (the service's own) when it
        qualifies, else the first by code, so every delivery of a message routes alike."""
        runs = [o for o in self.organisations.values() if program in o.programs]
        candidates = [o.id for o in runs if district in o.districts] or [
            o.id for o in runs if not o.districts
        ]
        if preferred in candidates or not candidates:
            return preferred
        return min(candidates)

    @classmethod
    def load(cls, path: Path | None = None) -> "Directory":
        source = path or Path(os.environ.get("KASANE_DIRECTORY", DEFAULT_DIRECTORY))
        return cls.from_document(json.loads(source.read_text(encoding="utf-8")))

    @classmethod
    def from_document(cls, raw: Mapping[str, Any]) -> "Directory":
        """The directory from its JSON shape (the seed file, a published version); ValueError when
        it names something it does not hold."""
        organisations = {
            o["id"]: Organisation(
                o["id"],
                o["name"],
                frozenset(Program(p) for p in o["programs"]),
                frozenset(o.get("districts", ())),
                OrganisationKind(o.get("kind", OrganisationKind.OTHER)),
                frozenset(StatutoryDuty(d) for d in o.get("duties", ())),
            )
            for o in raw["organisations"]
        }
        users = {}
        for u in raw.get("users", []):
            if u["organisation"] not in organisations:
                raise ValueError(f"user {u['id']} belongs to unknown organisation {u['organisation']}")
            users[u["id"]] = User(
                u["id"], u["organisation"], frozenset(Role(r) for r in u["roles"]), u.get("display", "")
            )
        school_districts = {s["code"]: s["name"] for s in raw.get("school_districts", [])}
        districts = {}
        for d in raw.get("districts", []):
            if d["school_district"] not in school_districts:
                raise ValueError(f"district {d['code']} names unknown school district {d['school_district']}")
            districts[d["code"]] = District(d["code"], d["name"], int(d["population"]), d["school_district"])
        for org in organisations.values():
            if unknown := org.districts - districts.keys():
                raise ValueError(f"organisation {org.id} serves unknown districts {sorted(unknown)}")
        return cls(raw["municipality"], organisations, users, districts, school_districts)

    def document(self, *, with_display: bool = True) -> dict[str, Any]:
        """The JSON shape `from_document` reads, in a stable order (codes sorted)."""
        return {
            "municipality": self.municipality,
            "districts": [
                {
                    "code": d.code,
                    "name": d.name,
                    "population": d.population,
                    "school_district": d.school_district,
                }
                for d in sorted(self.districts.values(), key=lambda d: d.code)
            ],
            "school_districts": [{"code": c, "name": n} for c, n in sorted(self.school_districts.items())],
            "organisations": [
                {
                    "id": o.id,
                    "name": o.name,
                    "kind": o.kind.value,
                    "programs": sorted(p.value for p in o.programs),
                    "districts": sorted(o.districts),
                    "duties": sorted(d.value for d in o.duties),
                }
                for o in sorted(self.organisations.values(), key=lambda o: o.id)
            ],
            "users": [
                {
                    "id": u.id,
                    "organisation": u.organisation,
                    "roles": sorted(r.value for r in u.roles),
                    **({"display": u.display} if with_display else {}),
                }
                for u in sorted(self.users.values(), key=lambda u: u.id)
            ],
        }
