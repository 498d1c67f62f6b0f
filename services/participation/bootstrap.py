"""Composition root of participation: settings, runtime, consumers and the HTTP app."""

from functools import partial

from fastapi import FastAPI

from contracts import programs
from libs import erasure
from libs.directory_copy import WithDirectory
from libs.runtime import Runtime, Settings, create_app
from services.participation.domain import model
from services.participation.entrypoints import http, register, timeline
from services.participation.service_layer import handlers

PROGRAM = programs.BY_NAME["participation"]
NAME = PROGRAM.name


def settings() -> Settings:
    return Settings.from_env(NAME, PROGRAM.port, PROGRAM.demo_organisation)


def build(config: Settings) -> tuple[Runtime, FastAPI]:
    consumers = {
        "ReferredToParticipation": WithDirectory(
            partial(handlers.on_referred, organisation=config.organisation)
        ),
        "SubjectErased": partial(erasure.follow, service=NAME, organisation=config.organisation),
    }
    runtime = Runtime(config, consumers, registers=(model.PARTICIPATION_CASE,))
    app = create_app(
        runtime,
        title="Kasane participation — 参加支援事業",
        description="参加支援メニューの開拓・管理、本人のニーズと希望のアセスメント、マッチング、定着支援、受け入れ先の支援。",
        routers=[register.router, http.router, timeline.router],
    )
    return runtime, app
