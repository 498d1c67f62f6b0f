"""intake — 包括的相談支援事業: receive any consultation (or a person passed on by outreach or a
community place), assess, give simple support, pass to an agency or refer complex cases to
coordination, take them back (つなぎもどし), close."""
