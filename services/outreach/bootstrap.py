"""Composition root of outreach: settings, runtime, consumers and the HTTP app."""

from functools import partial

from fastapi import FastAPI

from contracts import programs
from libs import erasure
from libs.directory_copy import WithDirectory
from libs.runtime import Runtime, Settings, create_app
from services.outreach.domain import model
from services.outreach.entrypoints import http, register, timeline
from services.outreach.service_layer import handlers

PROGRAM = programs.BY_NAME["outreach"]
NAME = PROGRAM.name


def settings() -> Settings:
    return Settings.from_env(NAME, PROGRAM.port, PROGRAM.demo_organisation)


def build(config: Settings) -> tuple[Runtime, FastAPI]:
    consumers = {
        "ReferredToOutreach": WithDirectory(partial(handlers.on_referred, organisation=config.organisation)),
        "OutreachRequested": WithDirectory(partial(handlers.on_requested, organisation=config.organisation)),
        "ConcernRaised": WithDirectory(partial(handlers.on_concern_raised, organisation=config.organisation)),
        "SubjectErased": partial(erasure.follow, service=NAME, organisation=config.organisation),
    }
    runtime = Runtime(config, consumers, registers=(model.OUTREACH_CASE,))
    app = create_app(
        runtime,
        title="Kasane outreach — アウトリーチ等を通じた継続的支援事業",
        description="支援が届いていない人の把握、継続的な働きかけ、関係づくり、支援機関へのつなぎ、終結。",
        routers=[register.router, http.router, timeline.router],
    )
    return runtime, app
