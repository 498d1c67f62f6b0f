"""Outreach's register (`GET /cases`): the cases its organisation holds, for its outreach workers.

Who may list is who may record a potential client: an outreach worker of an organisation that
runs outreach (each sees only their own organisation's cases).
"""

from dataclasses import replace
from datetime import timedelta

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource, Worklist
from services.outreach.domain.model import Status
from services.outreach.service_layer import authorization

STATUS_LABELS = {
    Status.NEW.value: "未把握",
    Status.IDENTIFIED.value: "把握",
    Status.IN_CONTACT.value: "関係づくり中",
    Status.CONNECTED.value: "つなぎ済み",
    Status.CONCLUDED.value: "終結",
}

OPEN = (Status.IDENTIFIED.value, Status.IN_CONTACT.value, Status.CONNECTED.value)

WORKLISTS = (
    Worklist(
        "not_contacted_14_days",
        "14日以上働きかけのない人",
        "把握・関係づくり中の人で、最後の記録（働きかけ・節目など）が14日以上前のケース。",
        lambda q, today, _: replace(
            q,
            status=(Status.IDENTIFIED.value, Status.IN_CONTACT.value),
            quiet_since=today - timedelta(days=14),
        ),
    ),
)

router = register.router(
    RegisterSource(Program.OUTREACH, authorization.may_identify, STATUS_LABELS, OPEN, WORKLISTS)
)
