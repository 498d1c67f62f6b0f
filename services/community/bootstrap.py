"""Composition root of community: settings, runtime, consumers and the HTTP app."""

from functools import partial

from fastapi import FastAPI

from contracts import programs
from libs.runtime import Runtime, Settings, create_app
from services.community.domain import concern
from services.community.entrypoints import http, register, timeline
from services.community.service_layer import handlers

PROGRAM = programs.BY_NAME["community"]
NAME = PROGRAM.name


def settings() -> Settings:
    return Settings.from_env(NAME, PROGRAM.port, PROGRAM.demo_organisation)


def build(config: Settings) -> tuple[Runtime, FastAPI]:
    consumers = {
        # Also the key of a concern that opened the erased case: intake named the person anew.
        "SubjectErased": partial(handlers.on_subject_erased, service=NAME, organisation=config.organisation),
        "MenuPublished": partial(handlers.on_menu_changed, organisation=config.organisation),
        "MenuUpdated": partial(handlers.on_menu_changed, organisation=config.organisation),
        "MissingResourceNoted": partial(handlers.on_missing_resource, organisation=config.organisation),
    }
    runtime = Runtime(config, consumers, registers=(concern.CONCERN,))
    app = create_app(
        runtime,
        title="Kasane community — 地域づくり事業",
        description=(
            "居場所（子ども食堂・サロン・コミュニティカフェ・共生型拠点）と活動・ボランティアの記録、"
            "多分野のプラットフォーム会議、居場所での気づきの包括的相談支援・アウトリーチへのつなぎ、"
            "Open Referral HSDS 3.0 形式の社会資源ディレクトリ。"
        ),
        routers=[register.router, http.router, timeline.router],
    )
    return runtime, app
