"""Intake's part of a case's timeline (libs/timeline.py): the case is intake's own case id.

Who may see it is intake's rule for a person's details (`may_see_details`): the holder, a consent
covering a program the caller's organisation runs, a 支援会議 on the case, a live break-glass grant.
"""

import uuid
from datetime import date

from contracts.glossary import Program
from libs import handover, timeline
from libs.authz import Decision
from libs.directory import Directory
from libs.eventstore import Session
from libs.http import Caller
from services.intake.domain import consent, model
from services.intake.service_layer import authorization, handlers

LABELS = {
    "ConsultationReceived": "相談の受付",
    "CaseOpenedFromConnection": "他事業からのつなぎでケース開始",
    "ConnectionRecorded": "つなぎの記録",
    "PersonDetailsRecorded": "本人情報の記録",
    "AssessmentRecorded": "アセスメント",
    "SimpleSupportGiven": "簡易な支援",
    "ReferredToAgency": "関係機関へのつなぎ",
    "ReferredToCoordination": "多機関協働事業への支援依頼",
    "ReferralAccepted": "支援依頼の受理",
    "ReturnedToOrigin": "つなぎもどし",
    "CoordinationConcluded": "多機関協働の終結",
    "SupportMeetingRecorded": "支援会議・重層的支援会議の記録",
    "CaseClosed": "終結",
    "PersonErased": "個人情報の消去",
    "MemberErased": "世帯員の個人情報の消去",
    "ReferredToOutreach": "世帯員のアウトリーチ等事業への依頼",
    "CaseHandedOver": handover.LABEL,
    "ConsentGranted": "情報共有への同意",
    "ConsentNarrowed": "同意範囲の縮小",
    "ConsentWithdrawn": "同意の撤回",
}


async def may_see(
    session: Session, caller: Caller, case_key: uuid.UUID, directory: Directory, today: date
) -> Decision:
    """The case key is intake's case id: one case stream, and its consents, decide."""
    case = (await session.load(model.INTAKE_CASE, handlers.stream_id(case_key))).state
    consents = (await session.load(consent.CONSENTS, handlers.consent_stream(case_key))).state
    emergency = await handlers.live_grant(session, caller, case_key)
    return authorization.may_see_details(caller.principal, case, consents, directory, today, emergency)


router = timeline.router(timeline.TimelineSource(Program.INTAKE, LABELS, may_see))
