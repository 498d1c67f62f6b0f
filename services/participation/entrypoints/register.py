"""Participation's case register (`GET /cases`, libs/register.py): the cases its organisation
holds, for its participation coordinators.

A line shows codes and dates only; participation holds no name, birth date or phone to search by
(intake's register does), and opening a case is the recorded read of `/cases/{case_id}`.
"""

from dataclasses import replace
from datetime import timedelta

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource, Worklist
from services.participation.domain.model import Status
from services.participation.service_layer.authorization import may_list

STATUS_LABELS = {
    Status.NEW.value: "受理前",
    Status.OPEN.value: "依頼の受理（アセスメント前）",
    Status.ASSESSED.value: "アセスメント済み（参加中のメニューなし）",
    Status.PLACED.value: "メニューに参加中（定着支援）",
    Status.CLOSED.value: "終結",
}

OPEN = (Status.OPEN.value, Status.ASSESSED.value, Status.PLACED.value)

WORKLISTS = (
    Worklist(
        "to_assess",
        "アセスメント前のケース",
        "参加支援の依頼を受理し、まだアセスメントを記録していないケース。",
        lambda q, _, __: replace(q, status=(Status.OPEN.value,)),
    ),
    Worklist(
        "placements_quiet_30_days",
        "30日以上定着支援の記録がない参加",
        "メニューに参加中で、最後の記録（開始・フォローアップ・受け入れ先支援）が30日以上前のケース。",
        lambda q, today, _: replace(q, status=(Status.PLACED.value,), quiet_since=today - timedelta(days=30)),
    ),
)

router = register.router(RegisterSource(Program.PARTICIPATION, may_list, STATUS_LABELS, OPEN, WORKLISTS))
