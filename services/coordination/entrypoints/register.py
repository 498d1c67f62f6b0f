"""Coordination's case register (GET /cases, libs/register.py): the cases its organisation holds,
for its coordinators. Codes and dates only; coordination holds no name, birth date or phone to
search by (intake's register does)."""

from dataclasses import replace

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource, Worklist
from services.coordination.domain.model import AWAITING_ANSWERS, Status
from services.coordination.service_layer.authorization import may_list

STATUS_LABELS = {
    Status.NEW.value: "受理前",
    Status.OPEN.value: "支援依頼の受理（プラン未決定）",
    AWAITING_ANSWERS: "支援プラン（案）の役割の回答待ち",
    Status.PLAN_AGREED.value: "支援プラン実施中",
    Status.CONCLUDED.value: "支援の終結",
    Status.RETURNED.value: "つなぎもどし済み",
}

OPEN = (Status.OPEN.value, AWAITING_ANSWERS, Status.PLAN_AGREED.value)

WORKLISTS = (
    Worklist(
        "referrals_to_answer",
        "受理したばかりの支援依頼",
        "支援依頼を受理し、まだ支援プランが決まっていないケース（辞退する場合はつなぎもどし）。"
        "支援プラン（案）の役割の回答を待っているケースは「回答待ちの役割」に出ます。",
        lambda q, _, __: replace(q, status=(Status.OPEN.value,)),
    ),
    Worklist(
        "roles_awaiting_answers",
        "回答待ちの役割",
        "支援プラン（案）（最初のプランまたは見直しの案）で提案した役割のうち、機関の受諾・辞退が"
        "まだ記録されていないものがあるケース。すべての役割に回答がそろうまで会議で決定できません。",
        lambda q, _, __: replace(q, status=(AWAITING_ANSWERS,)),
    ),
    Worklist(
        "plan_reviews_due",
        "見直し時期の支援プラン",
        "実施中の支援プランで、役割の見直し日のうち最も早い日が今日以前のケース"
        "（見直しの案で役割の回答を待っているものは「回答待ちの役割」に出ます）。",
        lambda q, today, _: replace(q, status=(Status.PLAN_AGREED.value,), due_by=today),
    ),
    # The consents intake published (ConsentChanged) that let coordination hold the case.
    register.consents_expiring(
        OPEN, "同意（包括的相談支援事業が記録したもの）で、多機関協働事業を共有先に含み撤回されていないもの"
    ),
)

router = register.router(RegisterSource(Program.COORDINATION, may_list, STATUS_LABELS, OPEN, WORKLISTS))
