"""Scope isolation: a lookup never crosses tenants, users, models or namespaces."""

from __future__ import annotations

import pytest

from sidecar.cache import (
    CacheConfig,
    CacheScope,
    NamespaceConfig,
    PiiScopeError,
    SemanticCache,
)

PROMPTS = [
    "What is my account balance?",
    "what is my account balance",  # exact after normalisation
    "hey, what is my account balnace please",  # fuzzy
    {"tool": "get_balance", "args": {"account": "123"}},
]


@pytest.mark.parametrize("key", PROMPTS)
@pytest.mark.parametrize(
    "other",
    [
        CacheScope("acme", "bank", "gpt-4o", "u2"),  # another user
        CacheScope("globex", "bank", "gpt-4o", "u1"),  # another tenant
        CacheScope("acme", "bank", "gpt-4o-mini", "u1"),  # another model
        CacheScope("acme", "other", "gpt-4o", "u1"),  # another namespace
        CacheScope("acme", "bank", "gpt-4o", None),  # no user
        CacheScope(None, "bank", "gpt-4o", "u1"),  # no tenant
    ],
)
def test_the_same_text_never_hits_across_scopes(key: object, other: CacheScope) -> None:
    cache = SemanticCache(CacheConfig())
    mine = CacheScope("acme", "bank", "gpt-4o", "u1")
    cache.store(mine, "What is my account balance?", "$1,234 for u1")
    cache.store(mine, {"args": {"account": "123"}, "tool": "get_balance"}, "$1,234 for u1")
    assert cache.lookup(mine, key).hit
    assert not cache.lookup(other, key).hit


def _shared_cache() -> SemanticCache:
    config = CacheConfig(namespaces={"faq": NamespaceConfig(shared_across_users=True)})
    return SemanticCache(config)


def test_a_shared_namespace_serves_every_user_of_the_tenant() -> None:
    cache = _shared_cache()
    cache.store(CacheScope("acme", "faq", "m", "u1"), "What are your opening hours?", "9-5")
    assert cache.lookup(CacheScope("acme", "faq", "m", "u2"), "what are your opening hours").hit
    assert cache.lookup(CacheScope("acme", "faq", "m", None), "What are your opening hours?").hit
    assert not cache.lookup(
        CacheScope("other", "faq", "m", "u2"), "What are your opening hours?"
    ).hit


def test_pii_values_stay_with_their_user_even_in_a_shared_namespace() -> None:
    cache = _shared_cache()
    u1 = CacheScope("acme", "faq", "m", "u1")
    cache.store(u1, "What is my address on file?", "12 Elm St", contains_pii=True)
    assert cache.lookup(u1, "What is my address on file?").value == "12 Elm St"
    assert not cache.lookup(u1._replace(user_id="u2"), "What is my address on file?").hit
    assert not cache.lookup(u1._replace(user_id=None), "What is my address on file?").hit


def test_a_pii_value_without_a_user_is_refused() -> None:
    cache = _shared_cache()
    with pytest.raises(PiiScopeError):
        cache.store(
            CacheScope("acme", "faq", "m", None), "my address?", "12 Elm", contains_pii=True
        )
    assert len(cache) == 0


def test_a_users_private_entry_wins_over_the_shared_one() -> None:
    cache = _shared_cache()
    u1 = CacheScope("acme", "faq", "m", "u1")
    cache.store(u1._replace(user_id="u2"), "What plan am I on?", "shared answer")
    cache.store(u1, "What plan am I on?", "u1's own plan", contains_pii=True)
    assert cache.lookup(u1, "What plan am I on?").value == "u1's own plan"
    assert cache.lookup(u1._replace(user_id="u3"), "What plan am I on?").value == "shared answer"


def test_per_user_is_the_default() -> None:
    cache = SemanticCache(CacheConfig())
    cache.store(CacheScope("acme", "faq", "m", "u1"), "What are your opening hours?", "9-5")
    assert not cache.lookup(
        CacheScope("acme", "faq", "m", "u2"), "What are your opening hours?"
    ).hit
