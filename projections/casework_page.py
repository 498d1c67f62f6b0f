"""What the case timeline and audit pages share: the page shell, the sign-in form and their assets.

Like the dashboard, a page asked for without a token is a sign-in form that holds nothing; its
script (assets/casework.js) asks the same address again with the token and shows the answer,
which the server wrote in full. The same Content-Security-Policy as the dashboard applies: only
the service's own script and style, no inline script and no `style` attributes.
"""

from html import escape

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from projections import http
from projections.http import SECURITY_HEADERS

SCRIPT, STYLE = "casework.js", "casework.css"


def shell(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="/assets/{STYLE}"></head><body>'
        f"{body}"
        f'<script src="/assets/{SCRIPT}"></script></body></html>'
    )


def sign_in(title: str, who: str) -> HTMLResponse:
    """The form that asks for a token; `who` says whose page it is."""
    body = (
        f"<h1>{escape(title)}</h1>"
        f"<p>{escape(who)}アクセストークンを入力してください。</p>"
        '<form id="login"><label>トークン <input type="password" name="token" autocomplete="off" required>'
        "</label> <button>表示</button></form>"
        '<p class="note">ローカル環境: <code>python -m deploy.local.issuer token &lt;利用者ID&gt;</code></p>'
    )
    return HTMLResponse(shell(title, body), headers=SECURITY_HEADERS)


def respond(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(shell(title, body), headers=SECURITY_HEADERS)


def serve_assets(app: FastAPI) -> None:
    http.serve_assets(app, {SCRIPT: "text/javascript", STYLE: "text/css"})
