"""outreach — アウトリーチ等を通じた継続的支援事業. Its domain, API and events come with issue #3."""
