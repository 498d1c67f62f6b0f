"""The five programs of the business, once: everything that lists them is derived from here.

Topics and their ACLs, the token audiences, the local ports, the demo's operating organisations,
the dashboard's upstreams and the test fixtures all read `PROGRAMS`; adding a program is a line
here and its package under `services/`, not an edit in every place that counts to five.
"""

from dataclasses import dataclass

from contracts.glossary import Program


@dataclass(frozen=True)
class ProgramSpec:
    """One program as a deployable service."""

    program: Program
    label: str
    """Its short Japanese name, as workers say it."""
    port: int
    """Its address under `make run` (127.0.0.1:<port>)."""
    demo_organisation: str
    """The organisation that runs it in the demo municipality (deploy/demo-municipality.json)."""
    consumes: tuple[Program, ...]
    """Whose public events its inbox reacts to; its Kafka grants are exactly these topics."""

    @property
    def name(self) -> str:
        return self.program.value

    @property
    def topic(self) -> str:
        """The one topic it publishes on; nobody else may write it."""
        return events_topic(self.name)


def events_topic(name: str) -> str:
    return f"kasane.{name}.events.v1"


PROGRAMS: tuple[ProgramSpec, ...] = (
    ProgramSpec(
        Program.INTAKE,
        "相談受付",
        8001,
        "city-soudan",
        consumes=(Program.COORDINATION, Program.OUTREACH, Program.COMMUNITY),
    ),
    ProgramSpec(
        Program.COORDINATION,
        "多機関協働",
        8002,
        "shakyo-tagikan",
        consumes=(Program.INTAKE, Program.OUTREACH, Program.PARTICIPATION),
    ),
    ProgramSpec(
        Program.OUTREACH,
        "アウトリーチ",
        8003,
        "npo-tsunagari",
        consumes=(Program.INTAKE, Program.COORDINATION, Program.COMMUNITY),
    ),
    ProgramSpec(
        Program.PARTICIPATION,
        "参加支援",
        8004,
        "shakyo-sanka",
        consumes=(Program.INTAKE, Program.COORDINATION),
    ),
    ProgramSpec(
        Program.COMMUNITY,
        "地域づくり",
        8005,
        "shakyo-chiiki",
        consumes=(Program.INTAKE, Program.COORDINATION, Program.PARTICIPATION),
    ),
)

NAMES: tuple[str, ...] = tuple(p.name for p in PROGRAMS)
BY_NAME: dict[str, ProgramSpec] = {p.name: p for p in PROGRAMS}

PROJECTIONS = "projections"
"""The projection service (dashboard, report, timeline, audit): reads every program's topic."""
PROJECTIONS_PORT = 8000

DIRECTORY = "directory"
"""The municipality's directory service (organisations, districts, users): not a program of the
business but the municipality's own records, which every program service keeps a copy of."""
DIRECTORY_PORT = 8006
DIRECTORY_ORGANISATION = "city-fukushi"
"""The organisation that keeps the directory in the demo municipality (its 担当課)."""
DIRECTORY_LABEL = "名簿管理"
