"""Vector keys: one list slot per live key, and a key that outlived its entry finds nothing."""

from __future__ import annotations

from sidecar.cache.vector_keys import VectorKeys


def test_keys_find_their_items_until_released() -> None:
    keys: VectorKeys[str] = VectorKeys()
    a, b = keys.assign("a"), keys.assign("b")
    assert 0 not in (a, b) and a != b
    assert (keys.get(a), keys.get(b), len(keys)) == ("a", "b", 2)
    keys.release(a)
    keys.release(a)  # twice: ignored
    assert (keys.get(a), keys.get(b), keys.get(0), len(keys)) == (None, "b", None, 1)


def test_a_stale_key_does_not_find_the_item_that_took_its_slot() -> None:
    """A search racing an eviction returns the evicted entry's key after its slot was reused."""
    keys: VectorKeys[str] = VectorKeys()
    old = keys.assign("evicted")
    keys.release(old)
    new = keys.assign("newcomer")
    assert new != old and keys.get(new) == "newcomer"
    assert keys.get(old) is None
    keys.release(old)  # a late release of the stale key leaves the newcomer alone
    assert keys.get(new) == "newcomer"


def test_slots_are_reused() -> None:
    keys: VectorKeys[int] = VectorKeys()
    for _ in range(3):
        live = [keys.assign(i) for i in range(100)]
        for key in live:
            keys.release(key)
    assert len(keys._items) == 101  # slot 0 and the 100 slots of one round
