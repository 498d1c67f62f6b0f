"""Composition root of intake: settings, runtime, consumers and the HTTP app."""

from functools import partial

from fastapi import FastAPI

from contracts import programs
from libs.directory_copy import WithDirectory
from libs.runtime import Runtime, Settings, create_app
from services.intake.domain import consent, model
from services.intake.entrypoints import emergencies, http, register, timeline
from services.intake.service_layer import handlers

PROGRAM = programs.BY_NAME["intake"]
NAME = PROGRAM.name


def settings() -> Settings:
    return Settings.from_env(NAME, PROGRAM.port, PROGRAM.demo_organisation)


def build(config: Settings) -> tuple[Runtime, FastAPI]:
    consumers = {
        "ReferralAccepted": partial(handlers.on_referral_accepted, organisation=config.organisation),
        "ReturnedToOrigin": partial(handlers.on_returned_to_origin, organisation=config.organisation),
        "PlanAgreed": partial(handlers.on_plan_agreed, organisation=config.organisation),
        "SupportConcluded": partial(handlers.on_support_concluded, organisation=config.organisation),
        # People passed on by outreach (つなぎ) and by community places (気づき).
        "ConnectedToSupport": WithDirectory(
            partial(handlers.on_connected_to_support, organisation=config.organisation)
        ),
        "ConcernRaised": WithDirectory(partial(handlers.on_concern_raised, organisation=config.organisation)),
    }
    # The consents write the expiry the case's line shows (the consents expiring worklist).
    runtime = Runtime(config, consumers, registers=(model.INTAKE_CASE, consent.CONSENTS))
    app = create_app(
        runtime,
        title="Kasane intake — 包括的相談支援事業",
        description=(
            "属性を問わない相談の受付、アセスメントと簡易な支援、関係機関へのつなぎ、"
            "多機関協働事業への支援依頼、つなぎもどしの受け取り、終結。"
        ),
        routers=[register.router, http.router, emergencies.router, timeline.router],
    )
    return runtime, app
