"""Reusable test classes that every storage adapter of Kasane must pass."""
