"""Composition root of coordination: settings, runtime, consumers and the HTTP app."""

from functools import partial

from fastapi import FastAPI

from contracts import programs
from libs import erasure
from libs.directory_copy import WithDirectory
from libs.runtime import Runtime, Settings, create_app
from services.coordination.domain import consent, model
from services.coordination.entrypoints import http, register, timeline
from services.coordination.service_layer import handlers

PROGRAM = programs.BY_NAME["coordination"]
NAME = PROGRAM.name


def settings() -> Settings:
    return Settings.from_env(NAME, PROGRAM.port, PROGRAM.demo_organisation)


def build(config: Settings) -> tuple[Runtime, FastAPI]:
    consumers = {
        "ReferredToCoordination": WithDirectory(
            partial(handlers.on_referred, organisation=config.organisation)
        ),
        "ConsentChanged": partial(handlers.on_consent_changed, organisation=config.organisation),
        "SubjectErased": partial(erasure.follow, service=NAME, organisation=config.organisation),
        # Outreach and participation report back on the people coordination referred to them.
        **{
            event_type: partial(handlers.on_partner_report, organisation=config.organisation)
            for event_type in (
                "ConnectedToSupport",
                "OutreachConcluded",
                "ParticipationAccepted",
                "PlacementStarted",
                "PlacementEnded",
                "ParticipationClosed",
            )
        },
    }
    # The consent notes write the expiry the case's lines show (the consents expiring worklist).
    runtime = Runtime(config, consumers, registers=(model.COORDINATION_CASE, consent.CONSENT_STATE))
    app = create_app(
        runtime,
        title="Kasane coordination — 多機関協働事業",
        description=(
            "支援依頼の受付・不受理、アセスメント、支援プランの合意と見直し、役割の受諾、会議の記録、"
            "モニタリング、アウトリーチ・参加支援への依頼、終結、つなぎもどし。"
        ),
        routers=[register.router, http.router, timeline.router],
    )
    return runtime, app
