"""The program registry (contracts/programs.py) is what the system runs: each service's inbox
subscribes to exactly the topics its Kafka principal is granted, no more (a grant nobody uses is
a door left open) and no fewer (a subscription the broker refuses fails at run time)."""

import importlib

import pytest

from contracts.kafka_access import CONSUMES
from contracts.programs import PROGRAMS, ProgramSpec
from deploy.local.keys import kek_env


@pytest.mark.parametrize("spec", PROGRAMS, ids=lambda p: p.name)
def test_each_service_consumes_exactly_the_topics_it_is_granted(
    spec: ProgramSpec, tmp_path, monkeypatch
) -> None:
    for name, value in kek_env(tmp_path, spec.name).items():
        monkeypatch.setenv(name, value)
    bootstrap = importlib.import_module(f"services.{spec.name}.bootstrap")
    runtime, _ = bootstrap.build(bootstrap.settings())
    assert sorted(runtime.consumer.topics) == sorted(CONSUMES[spec.name])
    assert spec.topic not in runtime.consumer.topics  # nobody consumes its own events


def test_ports_organisations_and_topics_are_one_each() -> None:
    for attribute in ("name", "port", "topic", "label"):
        values = [getattr(p, attribute) for p in PROGRAMS]
        assert len(set(values)) == len(values), attribute
