"""Intake's case register (`GET /cases`): the consultations its organisation holds, for its workers.

Who may list is who may receive a consultation: an intake worker of an organisation that runs
the intake program (each sees only their own organisation's cases). A line shows no personal
data; the name, kana, birth date and phone are searchable only through their blind tokens, and
opening a case is the recorded read of `/cases/{case_id}`.
"""

from contracts.glossary import Program
from libs import register
from libs.register import RegisterSource
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

router = register.router(RegisterSource(Program.INTAKE, may_receive, STATUS_LABELS))
