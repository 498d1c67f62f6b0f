"""outreach — アウトリーチ等を通じた継続的支援事業: find people who do not ask, build contact, connect them."""
