"""Composition root of the projections service: settings, runtime, the HTTP app.

It follows libs.runtime.create_app's conventions (shared error handlers, authenticated `Caller`,
`/health`, the runtime's lifecycle) but not create_app itself, which also mounts the service
event store's access records: the read side has no event store and no personal data.
"""

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from libs.http import CallerDependency, install_error_handlers
from projections import audit, casework_page, http, report, timeline
from projections.runtime import DEFAULT_PORT, NAME, ProjectionRuntime, Settings

__all__ = ["DEFAULT_PORT", "NAME", "build", "settings"]


def settings() -> Settings:
    return Settings.from_env()


def build(config: Settings, *, project: bool = True) -> tuple[ProjectionRuntime, FastAPI]:
    """The runtime and its app; `project=False` serves the read models without updating them."""
    runtime = ProjectionRuntime(config)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start(project=project)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Kasane projections — 市全体のダッシュボード",
        description="五つの事業の公開イベントから作る集計（1〜4件は非表示）。閲覧は市町村担当課と監査担当のみ。",
        version="1",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.caller = CallerDependency(runtime.verifier, directory=lambda: runtime.directory)
    install_error_handlers(app)

    @app.get("/health", tags=["operations"], summary="稼働確認（データベース・ブローカー・射影）")
    async def health() -> JSONResponse:
        status = await runtime.health()
        needed = {k: v for k, v in status.items() if project or k != "projector"}
        return JSONResponse(
            {"status": "ok" if all(needed.values()) else "degraded", **status},
            status_code=200 if all(needed.values()) else 503,
        )

    http.routes(app)
    report.routes(app)
    timeline.routes(app)
    audit.routes(app)
    casework_page.serve_assets(app)
    return runtime, app
