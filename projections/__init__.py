"""The read side across programs (city dashboard, case timeline, audit), built on libs.checkpoints.

The projector service itself comes with issue #5.
"""
