"""Password policy and username rules."""

from __future__ import annotations

import pytest

from services.casework.service_layer.auth import attempted_name, normalise_username
from services.casework.service_layer.passwords import check_password

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("weak", ["password12", "1234567890", "aaaaaaaaaa", "Password2026!", "tsunagu-demo-2026",
                                  "fukuoka2026", "qwertyuiop", "short"])
def test_weak_and_common_passwords_are_refused(weak: str) -> None:
    with pytest.raises(ValueError, match="password") as refused:
        check_password(weak, "higashi")
    assert weak not in str(refused.value)


@pytest.mark.parametrize("strong", ["correct horse battery", "kuro-neko-hashiru-2026-yoru"])
def test_long_unrelated_phrases_are_accepted(strong: str) -> None:
    check_password(strong, "higashi")


def test_the_username_itself_does_not_make_a_password() -> None:
    with pytest.raises(ValueError):
        check_password("higashi-higashi", "higashi-higashi")


def test_usernames_are_folded_and_attempts_recorded_safely() -> None:
    assert normalise_username(" ＨＩＧＡＳＨＩ ") == "higashi"
    assert attempted_name("һigashi") == "?igashi"  # Cyrillic һ
    assert attempted_name("a\x00b" + "c" * 50) == "a?b" + "c" * 29
