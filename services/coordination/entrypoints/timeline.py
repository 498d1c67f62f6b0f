"""Coordination's part of a case's timeline (libs/timeline.py): its cases opened for the case key.

Who may see them is coordination's rule for reading a case (`may_read`): the holder's
coordinators, organisations that sat in a meeting on the case, the referring organisation under
a consent covering intake. A key referred twice has two coordination cases; a basis on either
shows the key's history here.
"""

import uuid
from datetime import date

from contracts.glossary import Program
from libs import handover, timeline
from libs.authz import Decision
from libs.directory import Directory
from libs.eventstore import Session
from libs.http import Caller
from services.coordination.domain import consent, model
from services.coordination.service_layer import authorization, handlers

LABELS = {
    "CaseHandedOver": handover.LABEL,
    "CaseOpened": "支援依頼の受理（ケース開始）",
    "AssessmentRecorded": "課題の解きほぐし（アセスメント）",
    "PlanDrafted": "支援プラン（案）の作成",
    "RoleAccepted": "役割の受諾",
    "RoleDeclined": "役割の辞退",
    "PlanAgreed": "支援プランの合意",
    "MonitoringRecorded": "モニタリング",
    "ReferredToOutreach": "アウトリーチ事業への依頼",
    "ReferredToParticipation": "参加支援事業への依頼",
    "ConnectionNoted": "つなぎの報告",
    "PartnerReported": "連携先からの報告",
    "SupportConcluded": "支援の終結（評価）",
    "ReturnedToOrigin": "つなぎもどし",
    "ConsentNoted": "同意状況の反映",
}


async def may_see(
    session: Session, caller: Caller, case_key: uuid.UUID, _: Directory, today: date
) -> Decision:
    """The first basis on any of the key's cases, judged as a read of that case is judged."""
    consents = (await session.load(consent.CONSENT_STATE, handlers.consent_stream(case_key))).state
    decisions = []
    for stream in await session.stream_ids(stream_type=model.STREAM_TYPE, case_key=case_key):
        case = (await session.load(model.COORDINATION_CASE, stream)).state
        decisions.append(authorization.may_read(caller.principal, case, consents, today))
    return timeline.first_allowed(decisions)


router = timeline.router(timeline.TimelineSource(Program.COORDINATION, LABELS, may_see))
