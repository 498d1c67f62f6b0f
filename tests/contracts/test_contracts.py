"""The published language: committed schemas match the code, and no field can carry personal data."""

import ast
import uuid
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts import schemas
from contracts.events import EVENT_TYPES, CaseReceived
from tests.conftest import ROOT

# Field names that would mean personal data had entered a public contract.
PERSONAL_FIELD_WORDS = (
    "name",
    "address",
    "phone",
    "birth",
    "note",
    "summary",
    "reason_text",
    "email",
    "goal_text",
)

# Free text a public event may carry, and why it is not about a person: the directory publishes the
# names of the municipality's organisations and areas (public bodies and places, as on its website);
# its users travel without a name. Nothing else is exempt.
PUBLIC_NAMES = {"DirectoryChanged": {"name", "municipality"}}


def test_committed_json_schemas_match_the_models():
    committed = {p.name: p.read_text(encoding="utf-8") for p in schemas.SCHEMA_DIR.glob("*.json")}
    assert committed == schemas.generated(), "run `make schemas` and commit the result"


def _fields(schema: dict) -> set[str]:
    names = set(schema.get("properties", {}))
    for sub in schema.get("$defs", {}).values():
        names |= set(sub.get("properties", {}))
    return names


@pytest.mark.parametrize("event", sorted(EVENT_TYPES))
def test_no_public_event_has_a_field_for_personal_data(event):
    fields = _fields(EVENT_TYPES[event].model_json_schema()) - PUBLIC_NAMES.get(event, set())
    assert not [f for f in fields if any(word in f for word in PERSONAL_FIELD_WORDS)]


@pytest.mark.parametrize("event", sorted(EVENT_TYPES))
def test_every_string_in_a_public_event_is_constrained(event):
    """Free text is where names and notes leak: every string must be an enum, id, date or pattern."""

    def unconstrained(schema: dict, defs: dict) -> list[str]:
        found = []
        for field, spec in schema.get("properties", {}).items():
            options = spec.get("anyOf", [spec])
            for option in options:
                if "items" in option:
                    option = option["items"]
                if "$ref" in option:
                    continue
                if option.get("type") == "string" and not ({"pattern", "format", "enum"} & set(option)):
                    found.append(field)
        for sub in defs.values():
            found += unconstrained(sub, {})
        return found

    schema = EVENT_TYPES[event].model_json_schema()
    assert [
        f for f in unconstrained(schema, schema.get("$defs", {})) if f not in PUBLIC_NAMES.get(event, set())
    ] == []


def test_public_events_refuse_unknown_fields():
    with pytest.raises(ValidationError):
        CaseReceived(
            case_key=uuid.uuid4(),
            subject_ref=f"subj_{uuid.uuid4().hex}",
            channel="phone",
            issue_tags=["8050"],
            age_band="40-64",
            household_size=2,
            district="chuo-1",
            received_on=date(2026, 4, 1),
            name="架空　花子",
        )


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_service_imports_another_service_and_libs_import_no_service():
    services = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())
    for service in services:
        for path in (ROOT / "services" / service).rglob("*.py"):
            others = {
                i
                for i in _imports(path)
                if i.startswith("services.") and not i.startswith(f"services.{service}")
            }
            assert not others, f"{path.relative_to(ROOT)} imports {others}"
    for package in ("libs", "contracts"):
        for path in (ROOT / package).rglob("*.py"):
            assert not {i for i in _imports(path) if i.startswith("services")}, path


def test_domain_code_does_no_io():
    forbidden = (
        "sqlalchemy",
        "asyncpg",
        "aiokafka",
        "fastapi",
        "httpx",
        "libs.eventstore",
        "libs.outbox",
        "libs.inbox",
    )
    for path in (ROOT / "services").rglob("domain/*.py"):
        bad = {i for i in _imports(path) if i.startswith(forbidden)}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_every_code_has_its_own_japanese_label():
    """The UI speaks Japanese: every code of every list is labelled, per list (codes may repeat across lists)."""
    from enum import StrEnum

    from contracts import glossary

    lists = [
        v
        for v in vars(glossary).values()
        if isinstance(v, type) and issubclass(v, StrEnum) and v is not StrEnum
    ]
    unlabelled = [f"{cls.__name__}.{m.name}" for cls in lists for m in cls if glossary.label_ja(m) == m.value]
    # Codes that are their own label (numbers, 8050) are fine; anything else must be labelled.
    assert [u for u in unlabelled if not u.endswith("EIGHTY_FIFTY") and "AgeBand" not in u] == []
    assert glossary.label_ja(glossary.Channel.AGENCY) != glossary.label_ja(glossary.ConnectionTarget.AGENCY)
