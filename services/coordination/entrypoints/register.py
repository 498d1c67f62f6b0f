"""Coordination's case register (GET /cases, libs/register.py): the cases its organisation holds,
for its coordinators. Codes and dates only; coordination holds no name, birth date or phone to
search by (intake's register does)."""

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource
from services.coordination.domain.model import Status
from services.coordination.service_layer.authorization import may_list

STATUS_LABELS = {
    Status.NEW.value: "受理前",
    Status.OPEN.value: "支援依頼の受理（プラン未決定）",
    Status.PLAN_AGREED.value: "支援プラン実施中",
    Status.CONCLUDED.value: "支援の終結",
    Status.RETURNED.value: "つなぎもどし済み",
}

router = register.router(RegisterSource(Program.COORDINATION, may_list, STATUS_LABELS))
