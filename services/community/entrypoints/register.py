"""Community's case register (`GET /cases`): the concerns its places noted, for its coordinators.

A line shows no personal data (the description stays sealed in the concern); opening one is the
recorded read of `/concerns/{concern_id}` or `/cases/{case_key}`.
"""

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource
from services.community.domain.concern import Status
from services.community.service_layer.authorization import may_register

STATUS_LABELS = {
    Status.NEW.value: "未記録",
    Status.NOTED.value: "気づき記録済み",
    Status.RAISED.value: "つなぎ済み",
}

# Who may list: who may register a place, a community coordinator of a community organisation.
router = register.router(RegisterSource(Program.COMMUNITY, may_register, STATUS_LABELS))
