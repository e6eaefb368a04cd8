"""Editor account rules: names, the password length rule, hashing and checking."""

from __future__ import annotations

import pytest

from curator import passwords
from curator.exceptions import UsageError


def test_names_are_stripped_and_must_be_1_to_64_printable_characters_without_spaces():
    assert passwords.check_name("  maria ") == "maria"
    for bad in ("", "   ", "two words", "x" * 65, "tab\there", "ma\u202eria", "zero\u200bwidth"):
        with pytest.raises(UsageError, match="1 to 64 printable characters"):
            passwords.check_name(bad)


def test_a_password_needs_ten_characters_and_is_kept_only_as_a_salted_hash():
    with pytest.raises(UsageError, match="at least 10"):
        passwords.hash_password("short")
    stored = passwords.hash_password("correct horse")
    assert "correct horse" not in stored
    assert stored != passwords.hash_password("correct horse")  # salted
    assert passwords.matches(stored, "correct horse")
    assert not passwords.matches(stored, "wrong horse!")
    assert not passwords.matches(None, "correct horse")  # no such editor
