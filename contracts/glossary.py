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


class _Labels(dict[tuple[type, str], str]):
    """Japanese labels keyed by (code list, code): one code may read differently in two lists
    (Channel.AGENCY 「関係機関から」, ConnectionTarget.AGENCY 「関係機関へ」)."""

    def update(self, labels: dict[StrEnum, str]) -> None:  # type: ignore[override]
        for code, label in labels.items():
            self[(type(code), code.value)] = label


LABELS_JA = _Labels()
LABELS_JA.update(
    {
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
)


class RoleAnswer(StrEnum):
    """An agency's answer to the role a 支援プラン（案） proposes to it, before a meeting agrees the plan."""

    ACCEPTED = "accepted"
    DECLINED = "declined"


class RoleDeclineReason(StrEnum):
    """Why an agency declined a proposed role (役割の辞退): a code the coordinator can act on
    (ask another agency, change the role, talk again with the person)."""

    NO_CAPACITY = "no_capacity"
    OUTSIDE_REMIT = "outside_remit"
    OTHER_AGENCY_SUITED = "other_agency_suited"
    PERSON_DECLINED = "person_declined"
    OTHER = "other"


LABELS_JA.update(
    {
        RoleAnswer.ACCEPTED: "受諾",
        RoleAnswer.DECLINED: "辞退",
        RoleDeclineReason.NO_CAPACITY: "受け入れる余力がない（人員・枠）",
        RoleDeclineReason.OUTSIDE_REMIT: "機関の対象・業務の範囲外",
        RoleDeclineReason.OTHER_AGENCY_SUITED: "他の機関が適している",
        RoleDeclineReason.PERSON_DECLINED: "本人・世帯が望まない",
        RoleDeclineReason.OTHER: "その他",
    }
)


def label_ja(code: StrEnum) -> str:
    """Japanese label for a code; the code itself if none is defined (never fails a page)."""
    return LABELS_JA.get((type(code), code.value), code.value)


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


class OrganisationKind(StrEnum):
    """What an organisation of the municipality's directory is: those that run programs and the
    支援関係機関 that take roles and receive referrals without signing in."""

    MUNICIPALITY = "municipality"
    COMPREHENSIVE_SUPPORT_CENTER = "comprehensive_support_center"
    SOCIAL_WELFARE_COUNCIL = "social_welfare_council"
    NPO = "npo"
    SELF_RELIANCE_SUPPORT = "self_reliance_support"
    DISABILITY_CONSULTATION = "disability_consultation"
    CHILD_AND_FAMILY = "child_and_family"
    CARE_MANAGEMENT = "care_management"
    MEDICAL = "medical"
    SCHOOL = "school"
    EMPLOYMENT = "employment"
    HEALTH_CENTER = "health_center"
    WELFARE_COMMISSIONERS = "welfare_commissioners"
    BUSINESS = "business"
    COMMUNITY_GROUP = "community_group"
    OTHER = "other"


class StatutoryDuty(StrEnum):
    """A duty the law gives an organisation to act on a person's safety, which the directory records
    and which lets its workers break the glass (緊急時の閲覧) on a case."""

    ELDER_ABUSE = "elder_abuse"
    CHILD_ABUSE = "child_abuse"
    DISABILITY_ABUSE = "disability_abuse"
    DOMESTIC_VIOLENCE = "domestic_violence"
    MENTAL_HEALTH = "mental_health"


class EmergencyReason(StrEnum):
    """Why a worker breaks the glass: a fixed list, so that reviews and audits can count them."""

    LIFE_OR_BODY = "life_or_body"
    ABUSE = "abuse"
    SUICIDE_RISK = "suicide_risk"
    DISASTER = "disaster"
    STATUTORY_INQUIRY = "statutory_inquiry"


class ReviewFinding(StrEnum):
    """What the holding organisation or the auditor found when reviewing a break-glass access."""

    JUSTIFIED = "justified"
    NOT_JUSTIFIED = "not_justified"


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
        OrganisationKind.MUNICIPALITY: "市町村（担当課）",
        OrganisationKind.COMPREHENSIVE_SUPPORT_CENTER: "地域包括支援センター",
        OrganisationKind.SOCIAL_WELFARE_COUNCIL: "社会福祉協議会",
        OrganisationKind.NPO: "NPO法人",
        OrganisationKind.SELF_RELIANCE_SUPPORT: "自立相談支援機関",
        OrganisationKind.DISABILITY_CONSULTATION: "基幹相談支援センター・相談支援事業所",
        OrganisationKind.CHILD_AND_FAMILY: "こども家庭センター・児童相談所",
        OrganisationKind.CARE_MANAGEMENT: "居宅介護支援事業所",
        OrganisationKind.MEDICAL: "医療機関",
        OrganisationKind.SCHOOL: "学校",
        OrganisationKind.EMPLOYMENT: "ハローワーク・就労支援機関",
        OrganisationKind.HEALTH_CENTER: "保健センター・保健所",
        OrganisationKind.WELFARE_COMMISSIONERS: "民生委員児童委員協議会",
        OrganisationKind.BUSINESS: "企業・商店・農家",
        OrganisationKind.COMMUNITY_GROUP: "地域団体・ボランティア団体",
        OrganisationKind.OTHER: "その他",
        StatutoryDuty.ELDER_ABUSE: "高齢者虐待への対応（高齢者虐待防止法）",
        StatutoryDuty.CHILD_ABUSE: "児童虐待への対応（児童虐待防止法・児童福祉法）",
        StatutoryDuty.DISABILITY_ABUSE: "障害者虐待への対応（障害者虐待防止法）",
        StatutoryDuty.DOMESTIC_VIOLENCE: "配偶者からの暴力への対応（DV防止法）",
        StatutoryDuty.MENTAL_HEALTH: "精神保健に関する相談・指導（精神保健福祉法）",
        EmergencyReason.LIFE_OR_BODY: "生命・身体の保護",
        EmergencyReason.ABUSE: "虐待の疑いへの対応",
        EmergencyReason.SUICIDE_RISK: "自殺のおそれ",
        EmergencyReason.DISASTER: "災害時の安否確認・避難支援",
        EmergencyReason.STATUTORY_INQUIRY: "法令に基づく照会への対応",
        ReviewFinding.JUSTIFIED: "正当",
        ReviewFinding.NOT_JUSTIFIED: "正当でない",
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


class MenuKind(StrEnum):
    """What a participation menu offers (参加支援メニューの種類). Codes shared with
    ParticipationNeed mean the same thing and carry the same label."""

    WORK_EXPERIENCE = "work_experience"  # 農家・商店などでの就労体験
    PLACE_TO_BE = "place_to_be"
    VOLUNTEERING = "volunteering"
    LEARNING = "learning"
    SOCIAL_ACTIVITY = "social_activity"


class MenuStatus(StrEnum):
    """Whether a menu takes new participants; a closed menu keeps its current placements."""

    ACTIVE = "active"
    CLOSED = "closed"


class FollowUpStatus(StrEnum):
    """How a placement is going at a follow-up (定着支援での定着状況)."""

    SETTLED = "settled"
    NEEDS_SUPPORT = "needs_support"
    AT_RISK = "at_risk"
    NOT_ATTENDING = "not_attending"


class PlacementOutcome(StrEnum):
    """How a placement ended (参加の終了理由)."""

    MOVED_TO_EMPLOYMENT = "moved_to_employment"
    MOVED_TO_OTHER_ACTIVITY = "moved_to_other_activity"
    TERM_COMPLETED = "term_completed"
    PERSON_WITHDREW = "person_withdrew"
    HOST_ENDED = "host_ended"
    LOST_CONTACT = "lost_contact"


class HostConcern(StrEnum):
    """What a host organisation (受け入れ先) needed support with: a category, the details stay private."""

    COMMUNICATION_WITH_PERSON = "communication_with_person"
    ATTENDANCE = "attendance"
    HOST_WORKLOAD = "host_workload"
    HEALTH_AND_SAFETY = "health_and_safety"
    TASK_ADJUSTMENT = "task_adjustment"
    OTHER_HOST_CONCERN = "other_host_concern"


LABELS_JA.update(
    {
        MenuKind.SOCIAL_ACTIVITY: "交流活動",
        MenuStatus.ACTIVE: "実施中",
        MenuStatus.CLOSED: "終了",
        FollowUpStatus.SETTLED: "定着している",
        FollowUpStatus.NEEDS_SUPPORT: "支援が必要",
        FollowUpStatus.AT_RISK: "中断のおそれ",
        FollowUpStatus.NOT_ATTENDING: "参加できていない",
        PlacementOutcome.MOVED_TO_EMPLOYMENT: "一般就労へ移行",
        PlacementOutcome.MOVED_TO_OTHER_ACTIVITY: "他の活動・居場所へ移行",
        PlacementOutcome.TERM_COMPLETED: "予定期間を終えて終了",
        PlacementOutcome.PERSON_WITHDREW: "本人の希望で中止",
        PlacementOutcome.HOST_ENDED: "受け入れ先の事情で終了",
        PlacementOutcome.LOST_CONTACT: "連絡が取れなくなった",
        HostConcern.COMMUNICATION_WITH_PERSON: "本人とのコミュニケーション",
        HostConcern.ATTENDANCE: "出欠・遅刻",
        HostConcern.HOST_WORKLOAD: "受け入れの負担",
        HostConcern.HEALTH_AND_SAFETY: "健康・安全",
        HostConcern.TASK_ADJUSTMENT: "作業内容の調整",
        HostConcern.OTHER_HOST_CONCERN: "その他",
    }
)


class ParticipationClosureReason(StrEnum):
    """Why participation support closed a person's case (参加支援の終結理由). A placement's own end
    has its outcome (PlacementOutcome); this is why the support as a whole ends. Codes shared with
    other lists mean the same and carry the same label."""

    SETTLED = "settled"
    PERSON_WISHED = "person_wished"
    OTHER_SUPPORT = "other_support"
    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"
    CONTACT_LOST = "contact_lost"
    OTHER = "other"


LABELS_JA.update(
    {
        ParticipationClosureReason.SETTLED: "活動に定着し支援を終了",
        ParticipationClosureReason.PERSON_WISHED: "本人の希望で終了",
        ParticipationClosureReason.OTHER_SUPPORT: "他の支援・制度へ移行",
        ParticipationClosureReason.MOVED_AWAY: "転居",
        ParticipationClosureReason.DECEASED: "死亡",
        ParticipationClosureReason.CONTACT_LOST: "連絡が取れなくなった",
        ParticipationClosureReason.OTHER: "その他",
    }
)


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


class IdentifiedBy(StrEnum):
    """Who noticed a potential outreach client (把握の経路): a category, never a person's name.

    Codes are distinct from every other code here: LABELS_JA is keyed by the code string.
    """

    MINSEI_IIN = "minsei_iin"
    NEIGHBOUR = "neighbour"
    RELATIVE = "relative"
    CASE_MEETING = "case_meeting"
    RELATED_AGENCY = "related_agency"
    COMMUNITY_PLACE = "community_place"  # same code and label as Channel.COMMUNITY_PLACE
    COORDINATION_REFERRAL = "coordination_referral"
    INTAKE_REFERRAL = "intake_referral"
    OUTREACH_ACTIVITY = "outreach_activity"


class ContactMethod(StrEnum):
    """How outreach tried to reach the person (働きかけの方法)."""

    HOME_VISIT = "home_visit"  # same code and label as Channel.HOME_VISIT
    LETTER = "letter"
    PHONE = "phone"  # same code and label as Channel.PHONE
    VIA_FAMILY = "via_family"
    MESSAGE = "message"


class ContactOutcome(StrEnum):
    """What came of one contact attempt; brief contact and conversation reach the person."""

    NO_ANSWER = "no_answer"
    REFUSED = "refused"
    FAMILY_ONLY = "family_only"
    BRIEF_CONTACT = "brief_contact"
    CONVERSATION = "conversation"


class ContactReach(StrEnum):
    """Whom one contact attempt reached (誰に届いたか); ContactAttempted v2 splits it from the response."""

    NOBODY = "nobody"
    FAMILY = "family"
    PERSON = "person"


class ContactResponse(StrEnum):
    """How the one reached responded (応答); none when nobody was reached."""

    REFUSED = "refused"
    BRIEF_CONTACT = "brief_contact"
    CONVERSATION = "conversation"


class Milestone(StrEnum):
    """Steps of the relationship outreach builds with the person (関係づくりの節目)."""

    FIRST_CONTACT = "first_contact"
    FIRST_CONVERSATION = "first_conversation"
    FIRST_OUTING = "first_outing"
    SUPPORT_ACCEPTED = "support_accepted"


class OutreachConclusionReason(StrEnum):
    """Why outreach ended its involvement (アウトリーチの終結理由)."""

    CONNECTED = "connected"
    NO_LONGER_NEEDED = "no_longer_needed"
    DECLINED = "declined"
    UNREACHABLE = "unreachable"
    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"


LABELS_JA.update(
    {
        IdentifiedBy.MINSEI_IIN: "民生委員・児童委員",
        IdentifiedBy.NEIGHBOUR: "近隣住民",
        IdentifiedBy.RELATIVE: "家族・親族",
        IdentifiedBy.CASE_MEETING: "会議（支援会議・地域ケア会議など）",
        IdentifiedBy.RELATED_AGENCY: "関係機関",
        IdentifiedBy.COORDINATION_REFERRAL: "多機関協働事業からの依頼",
        IdentifiedBy.INTAKE_REFERRAL: "相談受付からの依頼",
        IdentifiedBy.OUTREACH_ACTIVITY: "アウトリーチ活動の中で把握",
        ContactMethod.LETTER: "手紙",
        ContactMethod.VIA_FAMILY: "家族を通じて",
        ContactMethod.MESSAGE: "メール・SNS",
        ContactOutcome.NO_ANSWER: "不在・応答なし",
        ContactOutcome.REFUSED: "拒否",
        ContactOutcome.FAMILY_ONLY: "家族とのみ接触",
        ContactOutcome.BRIEF_CONTACT: "本人と短時間の接触",
        ContactOutcome.CONVERSATION: "本人と会話できた",
        ContactReach.NOBODY: "不在・応答なし",
        ContactReach.FAMILY: "家族",
        ContactReach.PERSON: "本人",
        Milestone.FIRST_CONTACT: "本人との初回接触",
        Milestone.FIRST_CONVERSATION: "本人との初回会話",
        Milestone.FIRST_OUTING: "初めての外出（自宅外での面会）",
        Milestone.SUPPORT_ACCEPTED: "支援の受け入れ",
        OutreachConclusionReason.CONNECTED: "支援機関につながった",
        OutreachConclusionReason.NO_LONGER_NEEDED: "支援の必要がなくなった",
        OutreachConclusionReason.DECLINED: "本人が支援を望まない",
        OutreachConclusionReason.UNREACHABLE: "接触できないまま終了",
        OutreachConclusionReason.MOVED_AWAY: "転居",
        OutreachConclusionReason.DECEASED: "死亡",
    }
)
# A separate call: these codes equal ContactOutcome's, and one dict literal would merge the keys.
LABELS_JA.update(
    {
        ContactResponse.REFUSED: "拒否",
        ContactResponse.BRIEF_CONTACT: "短時間の接触",
        ContactResponse.CONVERSATION: "会話できた",
    }
)


class PlaceKind(StrEnum):
    """Kinds of community place (居場所の種別; seed 002, 地域づくり事業)."""

    KODOMO_SHOKUDO = "kodomo_shokudo"
    SALON = "salon"
    COMMUNITY_CAFE = "community_cafe"
    COMMUNITY_DINING = "community_dining"
    KYOSEI_HUB = "kyosei_hub"
    CHILDCARE_HUB = "childcare_hub"
    OTHER_PLACE = "other_place"


class Generation(StrEnum):
    """Generations counted at community activities; the same bands as AgeBand, coarser at the top."""

    CHILDREN = "children"  # 0-17
    YOUTH = "youth"  # 18-39
    WORKING_AGE = "working_age"  # 40-64
    OLDER = "older"  # 65+


class TargetGroup(StrEnum):
    """Whom a place is for (対象者). Generation codes mean the same here as in Generation."""

    EVERYONE = "everyone"
    CHILDREN = "children"
    YOUTH = "youth"
    WORKING_AGE = "working_age"
    OLDER = "older"
    PARENTS_WITH_CHILDREN = "parents_with_children"
    PEOPLE_WITH_DISABILITIES = "people_with_disabilities"
    PEOPLE_IN_HARDSHIP = "people_in_hardship"


class Sector(StrEnum):
    """Sectors that sit at a multi-sector platform (多分野のプラットフォーム; seed 002)."""

    WELFARE = "welfare"
    MEDICAL_HEALTH = "medical_health"
    EDUCATION = "education"
    CHILDCARE = "childcare"
    COMMERCE = "commerce"
    AGRICULTURE = "agriculture"
    REAL_ESTATE = "real_estate"
    TRANSPORT = "transport"
    DISASTER_PREVENTION = "disaster_prevention"
    RESIDENTS_ASSOCIATION = "residents_association"
    NPO_VOLUNTEER = "npo_volunteer"
    ENTERPRISE = "enterprise"
    CULTURE_SPORTS = "culture_sports"
    GOVERNMENT = "government"


class PlatformTheme(StrEnum):
    """What a platform meeting worked on (協議のテーマ)."""

    ISOLATION_PREVENTION = "isolation_prevention"
    PLACE_MAKING = "place_making"
    VOLUNTEER_COORDINATION = "volunteer_coordination"
    RESOURCE_MAPPING = "resource_mapping"
    CHILDREN_AND_YOUTH = "children_and_youth"
    MUTUAL_AID_OLDER = "mutual_aid_older"
    DISASTER_PREPAREDNESS = "disaster_preparedness"
    LOCAL_ECONOMY = "local_economy"


LABELS_JA.update(
    {
        PlaceKind.KODOMO_SHOKUDO: "子ども食堂",
        PlaceKind.SALON: "ふれあい・いきいきサロン",
        PlaceKind.COMMUNITY_CAFE: "コミュニティカフェ",
        PlaceKind.COMMUNITY_DINING: "地域食堂",
        PlaceKind.KYOSEI_HUB: "共生型拠点",
        PlaceKind.CHILDCARE_HUB: "地域子育て支援拠点",
        PlaceKind.OTHER_PLACE: "その他の居場所",
        TargetGroup.EVERYONE: "誰でも（世代・属性を問わない）",
        TargetGroup.CHILDREN: "子ども（18歳未満）",
        TargetGroup.YOUTH: "若者（18〜39歳）",
        TargetGroup.WORKING_AGE: "現役世代（40〜64歳）",
        TargetGroup.OLDER: "高齢者（65歳以上）",
        TargetGroup.PARENTS_WITH_CHILDREN: "子育て中の親子",
        TargetGroup.PEOPLE_WITH_DISABILITIES: "障害のある人",
        TargetGroup.PEOPLE_IN_HARDSHIP: "生活に困りごとのある人",
        Sector.WELFARE: "福祉",
        Sector.MEDICAL_HEALTH: "保健・医療",
        Sector.EDUCATION: "教育・学校",
        Sector.CHILDCARE: "子育て支援",
        Sector.COMMERCE: "商工・商店街",
        Sector.AGRICULTURE: "農林水産業",
        Sector.REAL_ESTATE: "住まい・不動産",
        Sector.TRANSPORT: "交通",
        Sector.DISASTER_PREVENTION: "防災",
        Sector.RESIDENTS_ASSOCIATION: "自治会・町内会",
        Sector.NPO_VOLUNTEER: "NPO・ボランティア団体",
        Sector.ENTERPRISE: "企業",
        Sector.CULTURE_SPORTS: "文化・スポーツ",
        Sector.GOVERNMENT: "行政",
        PlatformTheme.ISOLATION_PREVENTION: "社会的孤立の防止",
        PlatformTheme.PLACE_MAKING: "居場所づくり",
        PlatformTheme.VOLUNTEER_COORDINATION: "ボランティアのコーディネート",
        PlatformTheme.RESOURCE_MAPPING: "地域資源の把握",
        PlatformTheme.CHILDREN_AND_YOUTH: "子ども・若者",
        PlatformTheme.MUTUAL_AID_OLDER: "高齢者の支え合い",
        PlatformTheme.DISASTER_PREPAREDNESS: "災害への備え",
        PlatformTheme.LOCAL_ECONOMY: "地域経済・まちづくり",
    }
)


class IntegratedScheme(StrEnum):
    """包括化対象事業 (seed 002, 地域づくり事業): the existing schemes whose places and activities the
    community-building program takes in, each still reported under its own law — 介護 (二つ),
    障害, 子ども, 困窮."""

    CARE_PREVENTION = "care_prevention"
    LIVING_SUPPORT = "living_support"
    ACTIVITY_SUPPORT_CENTRE = "activity_support_centre"
    CHILDCARE_HUB = "childcare_hub"
    MUTUAL_AID = "mutual_aid"


LABELS_JA.update(
    {
        IntegratedScheme.CARE_PREVENTION: "一般介護予防事業（地域介護予防活動支援事業）",
        IntegratedScheme.LIVING_SUPPORT: "生活支援体制整備事業",
        IntegratedScheme.ACTIVITY_SUPPORT_CENTRE: "地域活動支援センター事業",
        IntegratedScheme.CHILDCARE_HUB: "地域子育て支援拠点事業",
        IntegratedScheme.MUTUAL_AID: "生活困窮者の共助の基盤づくり事業",
    }
)


class SimpleSupportKind(StrEnum):
    """What intake did itself for a consultation it can handle alone (簡易な支援)."""

    INFORMATION_PROVIDED = "information_provided"
    LISTENING_ADVICE = "listening_advice"
    APPLICATION_HELP = "application_help"
    SERVICE_ARRANGEMENT = "service_arrangement"
    ACCOMPANIMENT = "accompaniment"


class ClosureReason(StrEnum):
    """Why intake closed a case (終結の理由). Shared codes carry the same label as elsewhere."""

    RESOLVED = "resolved"  # same code and label as ConclusionOutcome.RESOLVED
    SIMPLE_SUPPORT_COMPLETED = "simple_support_completed"
    CONNECTED_TO_AGENCY = "connected_to_agency"
    SUPPORT_DECLINED = "support_declined"
    CONTACT_LOST = "contact_lost"
    MOVED_AWAY = "moved_away"  # same code and label as OutreachConclusionReason.MOVED_AWAY
    DECEASED = "deceased"  # same code and label as OutreachConclusionReason.DECEASED


class AttendeeRole(StrEnum):
    """What an organisation was at a case meeting (会議での立場)."""

    CONVENER = "convener"
    REFERRING_AGENCY = "referring_agency"
    SUPPORT_AGENCY = "support_agency"
    MUNICIPALITY = "municipality"
    ADVISER = "adviser"


class MeetingDecision(StrEnum):
    """What a case meeting decided for one case (会議での決定事項)."""

    PLAN_AGREED = "plan_agreed"
    PLAN_REVISED = "plan_revised"
    CONTINUE_SUPPORT = "continue_support"
    RETURN_TO_ORIGIN = "return_to_origin"
    REFER_TO_OUTREACH = "refer_to_outreach"
    REFER_TO_PARTICIPATION = "refer_to_participation"
    CONCLUDE_SUPPORT = "conclude_support"


class LocalResourceKind(StrEnum):
    """A kind of local resource a case meeting found missing (不足している地域資源).

    Published to community building (地域づくり事業), which develops what the area lacks.
    """

    PLACE_TO_BE = "place_to_be"  # same code and label as ParticipationNeed.PLACE_TO_BE
    WORK_EXPERIENCE_HOST = "work_experience_host"
    PEER_GROUP = "peer_group"
    RESPITE_CARE = "respite_care"
    CHILD_MINDING = "child_minding"
    TRANSPORT = "transport"
    HOUSING_OPTION = "housing_option"
    STUDY_SUPPORT = "study_support"
    FOOD_SUPPORT = "food_support"
    OUT_OF_HOURS_CONSULTATION = "out_of_hours_consultation"
    EVERYDAY_HELPERS = "everyday_helpers"


LABELS_JA.update(
    {
        SimpleSupportKind.INFORMATION_PROVIDED: "情報提供",
        SimpleSupportKind.LISTENING_ADVICE: "傾聴・助言",
        SimpleSupportKind.APPLICATION_HELP: "申請手続きの支援",
        SimpleSupportKind.SERVICE_ARRANGEMENT: "サービス利用の調整",
        SimpleSupportKind.ACCOMPANIMENT: "同行支援",
        ClosureReason.SIMPLE_SUPPORT_COMPLETED: "簡易な支援で対応を終えた",
        ClosureReason.CONNECTED_TO_AGENCY: "関係機関につないだ",
        ClosureReason.SUPPORT_DECLINED: "本人が支援を望まない",
        ClosureReason.CONTACT_LOST: "連絡が取れなくなった",
        AttendeeRole.CONVENER: "主催（多機関協働事業）",
        AttendeeRole.REFERRING_AGENCY: "紹介元の相談支援機関",
        AttendeeRole.SUPPORT_AGENCY: "支援関係機関",
        AttendeeRole.MUNICIPALITY: "市町村（行政職員）",
        AttendeeRole.ADVISER: "助言者",
        MeetingDecision.PLAN_AGREED: "支援プランの決定",
        MeetingDecision.PLAN_REVISED: "支援プランの見直し",
        MeetingDecision.CONTINUE_SUPPORT: "現在のプランで支援を継続",
        MeetingDecision.RETURN_TO_ORIGIN: "紹介元へのつなぎもどし",
        MeetingDecision.REFER_TO_OUTREACH: "アウトリーチ等事業へつなぐ",
        MeetingDecision.REFER_TO_PARTICIPATION: "参加支援事業へつなぐ",
        MeetingDecision.CONCLUDE_SUPPORT: "支援の終結",
        LocalResourceKind.WORK_EXPERIENCE_HOST: "就労体験の受け入れ先",
        LocalResourceKind.PEER_GROUP: "当事者・家族の集い",
        LocalResourceKind.RESPITE_CARE: "介護者の休息（レスパイト）",
        LocalResourceKind.CHILD_MINDING: "子どもの一時預かり",
        LocalResourceKind.TRANSPORT: "移動・外出の支援",
        LocalResourceKind.HOUSING_OPTION: "住まいの選択肢",
        LocalResourceKind.STUDY_SUPPORT: "学習支援",
        LocalResourceKind.FOOD_SUPPORT: "食の支援（フードバンク等）",
        LocalResourceKind.OUT_OF_HOURS_CONSULTATION: "夜間・休日の相談先",
        LocalResourceKind.EVERYDAY_HELPERS: "見守り・生活支援の担い手",
    }
)


class ConsulterKind(StrEnum):
    """Who brought the consultation (相談者), apart from the person it is about (本人)."""

    SELF = "self"
    FAMILY = "family"
    PROFESSIONAL = "professional"
    NEIGHBOUR = "neighbour"  # same code as IdentifiedBy.NEIGHBOUR, labelled per list
    MINSEI_IIN = "minsei_iin"  # same code as IdentifiedBy.MINSEI_IIN, labelled per list
    ANONYMOUS = "anonymous"
    OTHER = "other"


class Relation(StrEnum):
    """A household member's relation to the person the case is about (本人から見た続柄)."""

    SELF = "self"  # same code as ConsulterKind.SELF, labelled per list
    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    CHILD_IN_LAW = "child_in_law"
    OTHER_RELATIVE = "other_relative"
    NON_RELATIVE = "non_relative"


LABELS_JA.update(
    {
        ConsulterKind.SELF: "本人",
        ConsulterKind.FAMILY: "家族・親族",
        ConsulterKind.PROFESSIONAL: "関係機関の職員",
        ConsulterKind.NEIGHBOUR: "近隣住民・知人",
        ConsulterKind.MINSEI_IIN: "民生委員・児童委員",
        ConsulterKind.ANONYMOUS: "匿名",
        ConsulterKind.OTHER: "その他",
    }
)
LABELS_JA.update(
    {
        Relation.SELF: "本人",
        Relation.SPOUSE: "配偶者",
        Relation.PARENT: "親",
        Relation.CHILD: "子",
        Relation.SIBLING: "兄弟姉妹",
        Relation.GRANDPARENT: "祖父母",
        Relation.GRANDCHILD: "孫",
        Relation.CHILD_IN_LAW: "子の配偶者",
        Relation.OTHER_RELATIVE: "その他の親族",
        Relation.NON_RELATIVE: "同居人（親族以外）",
    }
)


def relation_from_text(text: str) -> Relation:
    """The relation a 続柄 written in words means (an older record wrote it as free text)."""
    words = {
        Relation.SELF: ("本人",),
        Relation.SPOUSE: ("妻", "夫", "配偶者"),
        Relation.PARENT: ("父", "母", "親"),
        Relation.CHILD: ("長男", "次男", "三男", "長女", "次女", "三女", "息子", "娘", "子"),
        Relation.SIBLING: ("兄", "弟", "姉", "妹", "兄弟", "姉妹"),
        Relation.GRANDPARENT: ("祖父", "祖母"),
        Relation.GRANDCHILD: ("孫",),
        Relation.CHILD_IN_LAW: ("嫁", "婿"),
    }
    cleaned = text.strip()
    for relation, names in words.items():
        if cleaned in names:
            return relation
    return Relation.OTHER_RELATIVE


# Codes that several lists share, labelled as each list means them.
LABELS_JA.update(
    {
        MenuKind.WORK_EXPERIENCE: "就労体験",
        MenuKind.PLACE_TO_BE: "居場所",
        MenuKind.VOLUNTEERING: "ボランティア",
        MenuKind.LEARNING: "学び",
        IdentifiedBy.COMMUNITY_PLACE: "地域の居場所",
        ContactMethod.HOME_VISIT: "訪問",
        ContactMethod.PHONE: "電話",
        Generation.CHILDREN: "子ども（18歳未満）",
        Generation.YOUTH: "若者（18〜39歳）",
        Generation.WORKING_AGE: "現役世代（40〜64歳）",
        Generation.OLDER: "高齢者（65歳以上）",
        ClosureReason.RESOLVED: "課題解決",
        ClosureReason.MOVED_AWAY: "転居",
        ClosureReason.DECEASED: "死亡",
    }
)
# A dict literal cannot hold two codes of equal value: this one needs its own.
LABELS_JA.update({LocalResourceKind.PLACE_TO_BE: "居場所"})
