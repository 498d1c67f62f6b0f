"""Following an intake erasure is recorded once per service, whatever the re-deliveries."""

import uuid
from datetime import date

from libs import erasure


def test_an_erasure_is_recorded_once():
    erased = erasure.PersonalDataErased(subject_ref=f"subj_{uuid.uuid4().hex}", erased_on=date(2026, 7, 1))
    note = erasure.NoteErasure(erased=erased)
    assert erasure.ERASURE.decide(note, erasure.Erasure()) == [erased]
    assert erasure.ERASURE.decide(note, erasure.ERASURE.fold([erased])) == []
