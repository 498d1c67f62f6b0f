"""Domain vocabulary: every code used in events and APIs, with its Japanese label.

One module so that the UI, the services and the reports agree on words. Codes are English
(identifiers), labels are what municipal staff read.
"""

from enum import StrEnum


class Channel(StrEnum):
    """How a consultation reached intake (相談経路)."""

    COUNTER = "counter"
    PHONE = "phone"
    HOME_VISIT = "home_visit"
    AGENCY = "agency"
    SCHOOL = "school"
    COMMUNITY_PLACE = "community_place"
    OUTREACH = "outreach"


class IssueTag(StrEnum):
    """One taxonomy of problems shared by all five programs (課題分類)."""

    ELDERLY_CARE = "elderly_care"
    DISABILITY = "disability"
    CHILD_REARING = "child_rearing"
    POVERTY_DEBT = "poverty_debt"
    HIKIKOMORI = "hikikomori"
    EIGHTY_FIFTY = "8050"
    DOUBLE_CARE = "double_care"
    YOUNG_CARER = "young_carer"
    HOUSING = "housing"
    ABUSE = "abuse"
    SELF_NEGLECT = "self_neglect"
    EMPLOYMENT = "employment"
    HEALTH = "health"
    ISOLATION = "isolation"


class AgeBand(StrEnum):
    """Coarse age of the person; exact birth dates never leave the owning service."""

    CHILD = "0-17"
    YOUNG_ADULT = "18-39"
    MIDDLE = "40-64"
    YOUNG_OLD = "65-74"
    OLD_OLD = "75+"


class MeetingType(StrEnum):
    """The two legal kinds of case meeting."""

    SUPPORT_PLAN_MEETING = "support_plan_meeting"
    CONFIDENTIAL_SUPPORT_MEETING = "confidential_support_meeting"


class ReturnReason(StrEnum):
    """Why a case goes back to the organisation that referred it (つなぎもどし)."""

    MEETING_DECISION = "meeting_decision"
    SUPPORT_CONCLUDED = "support_concluded"
    REFERRAL_DECLINED = "referral_declined"


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


class RoleResponsibility(StrEnum):
    """What an agency takes on in a support plan (役割分担)."""

    MAIN_CONTACT = "main_contact"
    CARE_SERVICES = "care_services"
    DISABILITY_SERVICES = "disability_services"
    CHILD_SERVICES = "child_services"
    FINANCIAL_SUPPORT = "financial_support"
    HOUSING_SUPPORT = "housing_support"
    EMPLOYMENT_SUPPORT = "employment_support"
    HEALTH_CARE = "health_care"
    WATCHING_OVER = "watching_over"
    PARTICIPATION = "participation"


LABELS_JA: dict[str, str] = {
    # channels
    Channel.COUNTER: "窓口",
    Channel.PHONE: "電話",
    Channel.HOME_VISIT: "訪問",
    Channel.AGENCY: "関係機関から",
    Channel.SCHOOL: "学校から",
    Channel.COMMUNITY_PLACE: "地域の居場所から",
    Channel.OUTREACH: "アウトリーチから",
    # issue tags
    IssueTag.ELDERLY_CARE: "高齢・介護",
    IssueTag.DISABILITY: "障害",
    IssueTag.CHILD_REARING: "子育て",
    IssueTag.POVERTY_DEBT: "生活困窮・債務",
    IssueTag.HIKIKOMORI: "ひきこもり",
    IssueTag.EIGHTY_FIFTY: "8050",
    IssueTag.DOUBLE_CARE: "ダブルケア",
    IssueTag.YOUNG_CARER: "ヤングケアラー",
    IssueTag.HOUSING: "住まい",
    IssueTag.ABUSE: "虐待",
    IssueTag.SELF_NEGLECT: "セルフネグレクト",
    IssueTag.EMPLOYMENT: "就労",
    IssueTag.HEALTH: "健康・医療",
    IssueTag.ISOLATION: "社会的孤立",
    # meetings
    MeetingType.SUPPORT_PLAN_MEETING: "重層的支援会議",
    MeetingType.CONFIDENTIAL_SUPPORT_MEETING: "支援会議",
    # return reasons
    ReturnReason.MEETING_DECISION: "会議の決定によるつなぎもどし",
    ReturnReason.SUPPORT_CONCLUDED: "支援終結によるつなぎもどし",
    ReturnReason.REFERRAL_DECLINED: "支援依頼の不受理",
    # urgency
    Urgency.ROUTINE: "通常",
    Urgency.URGENT: "緊急",
    # plan roles
    RoleResponsibility.MAIN_CONTACT: "主担当",
    RoleResponsibility.CARE_SERVICES: "介護サービス",
    RoleResponsibility.DISABILITY_SERVICES: "障害福祉サービス",
    RoleResponsibility.CHILD_SERVICES: "子ども・子育て支援",
    RoleResponsibility.FINANCIAL_SUPPORT: "家計・経済的支援",
    RoleResponsibility.HOUSING_SUPPORT: "住まいの支援",
    RoleResponsibility.EMPLOYMENT_SUPPORT: "就労支援",
    RoleResponsibility.HEALTH_CARE: "保健・医療",
    RoleResponsibility.WATCHING_OVER: "見守り",
    RoleResponsibility.PARTICIPATION: "参加支援",
}


def label_ja(code: str) -> str:
    """Japanese label for a code; the code itself if none is defined (never fails a page)."""
    return LABELS_JA.get(code, code)


def age_band_for(age: int) -> AgeBand:
    """The published age band of someone `age` years old."""
    if age < 18:
        return AgeBand.CHILD
    if age < 40:
        return AgeBand.YOUNG_ADULT
    if age < 65:
        return AgeBand.MIDDLE
    if age < 75:
        return AgeBand.YOUNG_OLD
    return AgeBand.OLD_OLD


class Program(StrEnum):
    """The five programs of the business (法106条の4第2項); also the scope of a consent."""

    INTAKE = "intake"
    COORDINATION = "coordination"
    OUTREACH = "outreach"
    PARTICIPATION = "participation"
    COMMUNITY = "community"


class Role(StrEnum):
    """What a user may do; carried in the bearer token."""

    INTAKE_WORKER = "intake_worker"
    COORDINATOR = "coordinator"
    OUTREACH_WORKER = "outreach_worker"
    PARTICIPATION_COORDINATOR = "participation_coordinator"
    COMMUNITY_COORDINATOR = "community_coordinator"
    MUNICIPAL_ADMINISTRATOR = "municipal_administrator"
    AUDITOR = "auditor"


class ConsentPurpose(StrEnum):
    """What the person agreed their information may be shared for."""

    SUPPORT_COORDINATION = "support_coordination"
    SUPPORT_PROVISION = "support_provision"


class LegalBasis(StrEnum):
    """Why one organisation may see another's information about a person."""

    HOLDER = "holder"
    CONSENT = "consent"
    SUPPORT_MEETING = "support_meeting"
    EMERGENCY = "emergency"


LABELS_JA.update(
    {
        Program.INTAKE: "包括的相談支援事業",
        Program.COORDINATION: "多機関協働事業",
        Program.OUTREACH: "アウトリーチ等を通じた継続的支援事業",
        Program.PARTICIPATION: "参加支援事業",
        Program.COMMUNITY: "地域づくり事業",
        Role.INTAKE_WORKER: "相談支援員",
        Role.COORDINATOR: "相談支援包括化推進員",
        Role.OUTREACH_WORKER: "アウトリーチ支援員",
        Role.PARTICIPATION_COORDINATOR: "参加支援員",
        Role.COMMUNITY_COORDINATOR: "地域づくりコーディネーター",
        Role.MUNICIPAL_ADMINISTRATOR: "市町村担当課",
        Role.AUDITOR: "監査担当",
        ConsentPurpose.SUPPORT_COORDINATION: "支援の調整のための情報共有",
        ConsentPurpose.SUPPORT_PROVISION: "支援の提供のための情報共有",
        LegalBasis.HOLDER: "保有機関",
        LegalBasis.CONSENT: "本人同意",
        LegalBasis.SUPPORT_MEETING: "支援会議（法106条の6）",
        LegalBasis.EMERGENCY: "緊急・法令上の義務",
    }
)


class ParticipationNeed(StrEnum):
    """What a person needs from participation support (参加支援のニーズ)."""

    WORK_EXPERIENCE = "work_experience"
    PLACE_TO_BE = "place_to_be"
    VOLUNTEERING = "volunteering"
    SOCIAL_CONTACT = "social_contact"
    LEARNING = "learning"


class ConclusionOutcome(StrEnum):
    """How coordination's part ended (終結時の評価)."""

    RESOLVED = "resolved"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    TRANSFERRED = "transferred"


class ConnectionTarget(StrEnum):
    """Where an outreach client was connected to (つなぎ先)."""

    INTAKE = "intake"
    COORDINATION = "coordination"
    AGENCY = "agency"


LABELS_JA.update(
    {
        ParticipationNeed.WORK_EXPERIENCE: "就労体験",
        ParticipationNeed.PLACE_TO_BE: "居場所",
        ParticipationNeed.VOLUNTEERING: "ボランティア",
        ParticipationNeed.SOCIAL_CONTACT: "人とのつながり",
        ParticipationNeed.LEARNING: "学び",
        ConclusionOutcome.RESOLVED: "課題解決",
        ConclusionOutcome.IMPROVED: "改善",
        ConclusionOutcome.UNCHANGED: "変化なし",
        ConclusionOutcome.TRANSFERRED: "他機関へ移行",
        ConnectionTarget.INTAKE: "包括的相談支援へ",
        ConnectionTarget.COORDINATION: "多機関協働へ",
        ConnectionTarget.AGENCY: "関係機関へ",
    }
)
