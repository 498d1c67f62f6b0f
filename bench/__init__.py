"""`make bench`: Kasane's speed, each figure beside a baseline measured in the same run.

The machine is shared and small, so absolute numbers drift between runs; a ratio to a raw client
doing the same work on the same database or broker, minutes apart, drifts much less.
"""
