"""NIST SP 800-63B password rules and Argon2id hashing."""

from __future__ import annotations

import pytest

from sciplab.web.auth.passwords import Hasher, check_password_rules
from sciplab.web.errors import BadRequest


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("short", "at least 8"),
        ("password1", "commonly used"),
        ("aaaaaaaaaa", "repeat"),
        ("x" * 129, "at most 128"),
        ("my-alice-pass", "username"),
        ("tab\there ok", "control"),
    ],
)
def test_rules_refuse_with_the_rule_named(password, words):
    with pytest.raises(BadRequest, match=words):
        check_password_rules(password, username="alice")


@pytest.mark.parametrize("password", ["correct horse battery", "lowercaseonly", "ümlaut straße 12", "        x"])
def test_no_composition_rules(password):
    check_password_rules(password, username="bob")


def test_argon2id_hash_and_verify():
    h = Hasher(1, 64)
    hashed = h.hash("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert h.verify(hashed, "correct horse battery")
    assert not h.verify(hashed, "correct horse batterY")
    assert not h.verify("not a hash", "x")
    assert Hasher(2, 64).needs_rehash(hashed)
    # NFKC: the same passphrase typed with a compatibility character matches
    assert h.verify(h.hash("ﬁsh and chips"), "fish and chips")
