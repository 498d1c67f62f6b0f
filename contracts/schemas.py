"""Generate the JSON Schema of every public event and of the envelope (`make schemas`).

The files are committed; a test regenerates them and fails on drift, so a contract change
is always a visible diff in review.
"""

import json
import sys
from pathlib import Path

from contracts.envelope import Envelope
from contracts.events import EVENT_TYPES
from contracts.superseded import SUPERSEDED

SCHEMA_DIR = Path(__file__).parent / "schemas"


def generated() -> dict[str, str]:
    """File name → schema text, for the envelope and each event type and version."""
    out = {"Envelope.json": Envelope.model_json_schema()}
    # Superseded versions stay: old events on Kafka and in stores are still read (docs/adr/0006).
    for cls in (*EVENT_TYPES.values(), *SUPERSEDED.values()):
        name = cls.event_type
        schema = cls.model_json_schema()
        schema["$id"] = f"urn:kasane:event:{name}:v{cls.schema_version}"
        schema["x-topic"] = cls.topic
        out[f"{name}.v{cls.schema_version}.json"] = schema
    return {f: json.dumps(s, ensure_ascii=False, indent=2, sort_keys=True) + "\n" for f, s in out.items()}


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for stale in SCHEMA_DIR.glob("*.json"):
        stale.unlink()
    for name, text in generated().items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote contracts/schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
