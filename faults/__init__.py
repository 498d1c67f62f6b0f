"""Fault injection with a history checker: Kasane's promises measured under crashes and outages.

`python -m faults` (`make faults`) runs the whole schedule; tests/faults/test_short.py runs a
subset inside `make test`. docs/faults.md explains what is injected, what is checked and how to
read the table.
"""
