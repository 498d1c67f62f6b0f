"""community — 地域づくり事業. Its domain, API and events come with issue #3."""
