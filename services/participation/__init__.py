"""participation — 参加支援事業. Its domain, API and events come with issue #3."""
