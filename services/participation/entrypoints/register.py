"""Participation's case register (`GET /cases`, libs/register.py): the cases its organisation
holds, for its participation coordinators.

A line shows codes and dates only; participation holds no name, birth date or phone to search by
(intake's register does), and opening a case is the recorded read of `/cases/{case_id}`.
"""

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource
from services.participation.domain.model import Status
from services.participation.service_layer.authorization import may_list

STATUS_LABELS = {
    Status.NEW.value: "受理前",
    Status.OPEN.value: "依頼の受理（アセスメント前）",
    Status.ASSESSED.value: "アセスメント済み（参加中のメニューなし）",
    Status.PLACED.value: "メニューに参加中（定着支援）",
}

router = register.router(RegisterSource(Program.PARTICIPATION, may_list, STATUS_LABELS))
