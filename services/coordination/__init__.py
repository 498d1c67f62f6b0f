"""coordination — 多機関協働事業 + 支援プラン: take referrals, agree plans at meetings, return cases."""
