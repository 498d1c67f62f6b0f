"""participation — 参加支援事業: assess, place people in menus developed with hosts, follow up, support hosts."""
