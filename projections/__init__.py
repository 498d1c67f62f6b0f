"""The read side across programs (city dashboard; case timeline and audit to come), built on
libs.checkpoints from public events only: `python -m projections` serves it on :8000,
`python -m projections rebuild` replays it from offset 0."""
