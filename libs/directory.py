"""The municipality's organisations and the programs each runs.

Authorisation needs to know, for a user's organisation, which program it runs (consent is
given per program). The directory is configuration owned by the municipality, not a
contract: `KASANE_DIRECTORY` points to its JSON file; the demo town's is the default.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from contracts.glossary import Program, Role

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[1] / "deploy" / "demo-municipality.json"


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    programs: frozenset[Program]


@dataclass(frozen=True)
class User:
    """A person who signs in; only the local token issuer needs these (production uses OIDC)."""

    id: str
    organisation: str
    roles: frozenset[Role]
    display: str


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

    @classmethod
    def load(cls, path: Path | None = None) -> "Directory":
        source = path or Path(os.environ.get("KASANE_DIRECTORY", DEFAULT_DIRECTORY))
        raw = json.loads(source.read_text(encoding="utf-8"))
        organisations = {
            o["id"]: Organisation(o["id"], o["name"], frozenset(Program(p) for p in o["programs"]))
            for o in raw["organisations"]
        }
        users = {}
        for u in raw.get("users", []):
            if u["organisation"] not in organisations:
                raise ValueError(f"user {u['id']} belongs to unknown organisation {u['organisation']}")
            users[u["id"]] = User(
                u["id"], u["organisation"], frozenset(Role(r) for r in u["roles"]), u["display"]
            )
        school_districts = {s["code"]: s["name"] for s in raw.get("school_districts", [])}
        districts = {}
        for d in raw.get("districts", []):
            if d["school_district"] not in school_districts:
                raise ValueError(f"district {d['code']} names unknown school district {d['school_district']}")
            districts[d["code"]] = District(d["code"], d["name"], int(d["population"]), d["school_district"])
        return cls(raw["municipality"], organisations, users, districts, school_districts)
