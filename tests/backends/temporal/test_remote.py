"""The retry policy a skill's activity gets: tried again after a worker died only when that cannot
repeat an effect (the same rule `Runner.resume` follows for a call in flight)."""

from __future__ import annotations

import pytest

from backends.temporal.remote import REPEATABLE_ATTEMPTS, retry_for


@pytest.mark.parametrize(
    ("spec", "key", "attempts"),
    [
        ({"side_effects": True}, None, 1),
        ({"side_effects": True}, "run-1:qr", REPEATABLE_ATTEMPTS),
        ({"side_effects": True, "idempotent": True}, None, REPEATABLE_ATTEMPTS),
        ({}, None, REPEATABLE_ATTEMPTS),
    ],
    ids=["effect-without-key", "effect-with-key", "idempotent-skill", "no-effects"],
)
def test_only_calls_that_cannot_repeat_an_effect_are_retried(
    spec: dict[str, bool], key: str | None, attempts: int
) -> None:
    assert retry_for(spec, key).maximum_attempts == attempts
