"""Community's case register (`GET /cases`): the concerns its places noted, for its coordinators.

A line shows no personal data (the description stays sealed in the concern); opening one is the
recorded read of `/concerns/{concern_id}` or `/cases/{case_key}`.
"""

from dataclasses import replace

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource, Worklist
from services.community.domain.concern import Status
from services.community.service_layer.authorization import may_register

STATUS_LABELS = {
    Status.NEW.value: "未記録",
    Status.NOTED.value: "気づき記録済み",
    Status.RAISED.value: "つなぎ済み",
}

# Who may list: who may register a place, a community coordinator of a community organisation.
OPEN = (Status.NOTED.value,)  # once raised, the concern is intake's or outreach's to follow

WORKLISTS = (
    Worklist(
        "concerns_to_pass_on",
        "つなぎ前の気づき",
        "居場所で記録した気づきで、まだ包括的相談支援・アウトリーチにつないでいないもの。",
        lambda q, _, __: replace(q, status=(Status.NOTED.value,)),
    ),
)

router = register.router(RegisterSource(Program.COMMUNITY, may_register, STATUS_LABELS, OPEN, WORKLISTS))
