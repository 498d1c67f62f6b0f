"""Following an intake erasure is recorded once per service, whatever the re-deliveries."""

import uuid
from datetime import date

from libs import erasure


def test_an_erasure_is_recorded_once():
    erased = erasure.PersonalDataErased(subject_ref=f"subj_{uuid.uuid4().hex}", erased_on=date(2026, 7, 1))
    assert erasure._note(erasure.Erasure(), erased) == [erased]
    assert erasure._note(erasure.ERASURE.fold([erased]), erased) == []
