"""Shared runtime of every Kasane service: one way to append, publish, consume and project."""
