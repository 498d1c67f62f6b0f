"""The compatibility gate: no public event's schema may change in a way that refuses old messages.

Each committed `contracts/schemas/<Event>.v<N>.json` is a promise to every message ever published
as that version. The current models must still accept everything each committed revision of
that file accepted (its whole git history, not only the working copy, which `make schemas`
overwrites). An incompatible change needs a new version and an upcaster (docs/adr/0006).
"""

import json
import shutil
import subprocess

import pytest

from contracts import schemas
from contracts.compatibility import incompatibilities
from tests.conftest import ROOT

SCHEMA_PATH = schemas.SCHEMA_DIR.relative_to(ROOT).as_posix()
CURRENT = {name: json.loads(text) for name, text in schemas.generated().items()}


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout


def _require_history() -> None:
    """The history check must run, never skip: a shallow clone fetches the rest, else the test fails."""
    if shutil.which("git") is None:
        pytest.fail("the schema history check needs git and the repository's history")
    if _git("rev-parse", "--is-shallow-repository").strip() == "true":
        try:
            _git("fetch", "--quiet", "--unshallow")
        except subprocess.CalledProcessError as error:
            pytest.fail(f"a shallow clone, and `git fetch --unshallow` failed: {error.stderr.strip()}")
    try:
        _git("rev-parse", "--verify", "--quiet", f"{BASELINE}^{{commit}}")
    except subprocess.CalledProcessError:
        pytest.fail(f"the baseline commit {BASELINE} is not in this repository's history")


BASELINE = "31f74f2"
"""The first commit whose schemas count as published. Earlier revisions were development before
any installation existed (PlanAgreed v1 gained `meeting_members` then); from here on, history is
binding."""


def _published_names() -> set[str]:
    """Every schema file committed since the baseline, including deleted ones."""
    names = _git("ls-tree", "--name-only", BASELINE, f"{SCHEMA_PATH}/").split()
    names += _git("log", "--format=", "--name-only", f"{BASELINE}..HEAD", "--", SCHEMA_PATH).split()
    return {n.rsplit("/", 1)[1] for n in names if n.endswith(".json")}


def _revisions(name: str) -> list[dict]:
    path = f"{SCHEMA_PATH}/{name}"
    commits = [BASELINE, *_git("log", "--format=%H", f"{BASELINE}..HEAD", "--", path).split()]
    found = []
    for commit in commits:
        try:
            found.append(json.loads(_git("show", f"{commit}:{path}")))
        except subprocess.CalledProcessError:
            continue  # not there yet, or the commit that deleted it
    return found


def test_every_committed_schema_still_reads_what_it_promised():
    """Against the working copy of each committed file (works without git too)."""
    problems = []
    for path in sorted(schemas.SCHEMA_DIR.glob("*.json")):
        committed = json.loads(path.read_text(encoding="utf-8"))
        if path.name not in CURRENT:
            problems.append(f"{path.name}: a published version is no longer generated")
            continue
        problems += incompatibilities(committed, CURRENT[path.name], path.name)
    assert problems == [], "incompatible contract change: add a new version with an upcaster instead"


def test_no_published_version_changed_incompatibly_in_history():
    _require_history()
    problems = []
    for name in sorted(_published_names()):
        if name not in CURRENT:
            problems.append(f"{name}: a published version was removed")
            continue
        for revision in _revisions(name):
            problems += incompatibilities(revision, CURRENT[name], name)
    assert sorted(set(problems)) == [], (
        "incompatible contract change: add a new version with an upcaster instead"
    )


def test_a_new_version_is_a_new_file_beside_the_old_one():
    """A version bump keeps every older version's schema (old events are still read)."""
    versions: dict[str, set[int]] = {}
    for name in CURRENT:
        if name != "Envelope.json":
            event, version = name.removesuffix(".json").rsplit(".v", 1)
            versions.setdefault(event, set()).add(int(version))
    assert {e: v for e, v in versions.items() if v != set(range(1, max(v) + 1))} == {}
