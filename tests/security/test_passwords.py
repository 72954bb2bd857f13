"""argon2id password hashing: verification, wrong passwords, corrupt hashes, rehash checks."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from neurocart.security import hash_password, needs_rehash, verify_password


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password("correct horse battery staple")


def test_hash_is_argon2id_and_salted(stored: str) -> None:
    assert stored.startswith("$argon2id$")
    assert stored != hash_password("correct horse battery staple")
    assert "correct horse" not in stored


def test_right_password_verifies(stored: str) -> None:
    assert verify_password("correct horse battery staple", stored) is True


@pytest.mark.parametrize(
    "wrong", ["", "correct horse battery stapl", "Correct horse battery staple", "x" * 1000]
)
def test_wrong_password_is_false(stored: str, wrong: str) -> None:
    assert verify_password(wrong, stored) is False


@pytest.mark.parametrize("corrupt", ["", "garbage", "$2b$12$abcdefghijklmnopqrstuv", "$argon2id$"])
def test_corrupt_hash_is_false_not_an_exception(corrupt: str) -> None:
    assert verify_password("anything", corrupt) is False


def test_unknown_user_is_false_even_for_the_dummy_password() -> None:
    assert verify_password("neurocart-dummy-password-for-unknown-users", None) is False
    assert verify_password("whatever", None) is False


def test_empty_password_cannot_be_set() -> None:
    with pytest.raises(ValueError, match=r"^password:"):
        hash_password("")


def test_rehash_needed_only_for_weaker_parameters(stored: str) -> None:
    assert needs_rehash(stored) is False
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    assert needs_rehash(weak) is True
    assert verify_password("pw", weak) is True  # old hashes still log in, then get upgraded
    assert needs_rehash("garbage") is True
