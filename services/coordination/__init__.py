"""coordination — 多機関協働事業 + 支援プラン: take (or decline) referrals, assess households, agree and
revise plans at recorded meetings, monitor, refer to outreach and participation, conclude, return."""
