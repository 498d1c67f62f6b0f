"""Coordination's case register (GET /cases, libs/register.py): the cases its organisation holds,
for its coordinators. Codes and dates only; coordination holds no name, birth date or phone to
search by (intake's register does)."""

from dataclasses import replace

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource, Worklist
from services.coordination.domain.model import Status
from services.coordination.service_layer.authorization import may_list

STATUS_LABELS = {
    Status.NEW.value: "受理前",
    Status.OPEN.value: "支援依頼の受理（プラン未決定）",
    Status.PLAN_AGREED.value: "支援プラン実施中",
    Status.CONCLUDED.value: "支援の終結",
    Status.RETURNED.value: "つなぎもどし済み",
}

OPEN = (Status.OPEN.value, Status.PLAN_AGREED.value)

WORKLISTS = (
    Worklist(
        "referrals_to_answer",
        "受理したばかりの支援依頼",
        "支援依頼を受理し、まだ支援プランが決まっていないケース（辞退する場合はつなぎもどし）。",
        lambda q, _, __: replace(q, status=(Status.OPEN.value,)),
    ),
    Worklist(
        "plan_reviews_due",
        "見直し時期の支援プラン",
        "実施中の支援プランで、役割の見直し日のうち最も早い日が今日以前のケース。",
        lambda q, today, _: replace(q, status=(Status.PLAN_AGREED.value,), due_by=today),
    ),
)

router = register.router(RegisterSource(Program.COORDINATION, may_list, STATUS_LABELS, OPEN, WORKLISTS))
