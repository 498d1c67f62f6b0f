"""Composition root of the directory: settings, runtime (its own records as the directory in use),
the seed imported on the first start, and the HTTP app."""

import json
import os
from pathlib import Path

from fastapi import FastAPI

from contracts import programs
from libs.directory import DEFAULT_DIRECTORY, Directory
from libs.runtime import Runtime, Settings, create_app
from services.directory.entrypoints import http
from services.directory.service_layer import handlers

NAME = programs.DIRECTORY


def settings() -> Settings:
    return Settings.from_env(NAME, programs.DIRECTORY_PORT, programs.DIRECTORY_ORGANISATION)


def build(config: Settings) -> tuple[Runtime, FastAPI]:
    seed_file = Path(os.environ.get("KASANE_DIRECTORY", DEFAULT_DIRECTORY))
    seed = json.loads(seed_file.read_text(encoding="utf-8"))

    async def import_seed(runtime: Runtime) -> None:
        await handlers.import_seed(runtime.store, seed, config.organisation)

    runtime = Runtime(
        config,
        {},
        directory_source=lambda r: handlers.OwnDirectory(r.store, Directory.from_document(seed)),
        on_start=import_seed,
    )
    app = create_app(
        runtime,
        title="Kasane directory — 名簿管理",
        description=(
            "自治体の名簿：事業を運営する機関と担当地区、支援関係機関（病院・学校・ハローワーク・"
            "居宅介護支援事業所など）、地区と小学校区、利用者と役割。市町村担当課が変更し、"
            "各事業のサービスは公開された最新版の写しで機関・地区のコードを確かめ、ケースを振り分けます。"
        ),
        routers=[http.router],
    )
    return runtime, app
