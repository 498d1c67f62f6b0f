"""intake — 包括的相談支援事業: receive any consultation, refer complex cases, take them back."""
