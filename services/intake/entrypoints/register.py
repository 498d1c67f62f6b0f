"""Intake's case register (`GET /cases`): the consultations its organisation holds, for its workers.

Who may list is who may receive a consultation: an intake worker of an organisation that runs
the intake program (each sees only their own organisation's cases). A line shows no personal
data; the name, kana, birth date and phone are searchable only through their blind tokens, and
opening a case is the recorded read of `/cases/{case_id}`.
"""

from dataclasses import replace
from datetime import timedelta

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource, Worklist
from services.intake.domain.model import Status
from services.intake.service_layer.authorization import may_receive

STATUS_LABELS = {
    Status.NEW.value: "未受付",
    Status.OPEN.value: "対応中",
    Status.REFERRED.value: "支援依頼中",
    Status.IN_COORDINATION.value: "多機関協働中",
    Status.RETURNED.value: "つなぎもどし",
    Status.CLOSED.value: "終結",
}

OPEN = (Status.OPEN.value, Status.REFERRED.value, Status.IN_COORDINATION.value, Status.RETURNED.value)

WORKLISTS = (
    Worklist(
        "referrals_waiting",
        "返事待ちの支援依頼",
        "多機関協働事業に支援依頼を送り、受理・辞退の返事がまだないケース。",
        lambda q, _, __: replace(q, status=(Status.REFERRED.value,)),
    ),
    Worklist(
        "referrals_unanswered_5_days",
        "5日以上返事のない支援依頼",
        "支援依頼を送ってから返事がなく、最後の記録が5日以上前のケース。",
        lambda q, today, _: replace(
            q, status=(Status.REFERRED.value,), quiet_since=today - timedelta(days=5)
        ),
    ),
    # Intake records the person's consents (services/intake/domain/consent.py): every one counts.
    register.consents_expiring(OPEN, "撤回されていない同意（共有先の事業を問わない）"),
)

router = register.router(RegisterSource(Program.INTAKE, may_receive, STATUS_LABELS, OPEN, WORKLISTS))
