"""data_version moves once per committed change of data; API keys are stored as digests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from service.store.base import AlreadyExists, KeyRecord, NotFound, Store, StoreError
from tests.conftest import make_tower
from tests.service.store.conftest import make_observation

Step = Callable[[Store], object]


def _key(i: int, *, role: str = "sensor", minutes: int = 0) -> KeyRecord:
    return KeyRecord(
        key_id=f"k{i}",
        role=role,
        digest_hex=hashlib.sha256(f"secret-{i}".encode()).hexdigest(),
        created_at=datetime(2026, 5, 1, 9, tzinfo=UTC) + timedelta(minutes=minutes),
        label=f"key {i}",
    )


def _seed(store: Store) -> None:
    store.upsert_towers([make_tower(0), make_tower(1)])
    store.add_observations([make_observation(i) for i in range(5)])


CHANGES: dict[str, Step] = {
    "create tower": lambda s: s.create_tower(make_tower(7)),
    "replace tower": lambda s: s.replace_tower(make_tower(0, lon=5.3)),
    "delete tower": lambda s: s.delete_tower("T001"),
    "upsert new and changed": lambda s: s.upsert_towers([make_tower(0, lon=5.4), make_tower(9)]),
    "add observations": lambda s: s.add_observations([make_observation(i) for i in range(3, 9)]),
}

NO_CHANGES: dict[str, Step] = {
    "replace identical tower": lambda s: s.replace_tower(make_tower(0)),
    "upsert identical towers": lambda s: s.upsert_towers([make_tower(0), make_tower(1)]),
    "re-add known observations": lambda s: s.add_observations([make_observation(2)]),
    "add key": lambda s: s.add_key(_key(1)),
    "reads": lambda s: (s.list_towers(), s.counts(), s.get_observation("obs-00001")),
}


@pytest.mark.parametrize("step", CHANGES.values(), ids=CHANGES.keys())
def test_each_change_increments_once(store: Store, step: Step) -> None:
    _seed(store)
    before = store.data_version()
    step(store)
    assert store.data_version() == before + 1


@pytest.mark.parametrize("step", NO_CHANGES.values(), ids=NO_CHANGES.keys())
def test_no_change_keeps_the_version(store: Store, step: Step) -> None:
    _seed(store)
    before = store.data_version()
    step(store)
    assert store.data_version() == before


FAILURES: dict[str, Step] = {
    "duplicate tower": lambda s: s.create_tower(make_tower(0)),
    "replace missing": lambda s: s.replace_tower(make_tower(42)),
    "delete missing": lambda s: s.delete_tower("T042"),
}


@pytest.mark.parametrize("step", FAILURES.values(), ids=FAILURES.keys())
def test_failed_writes_keep_the_version(store: Store, step: Step) -> None:
    _seed(store)
    before = store.data_version()
    with pytest.raises(StoreError):
        step(store)
    assert store.data_version() == before


def test_version_starts_at_zero_and_counts_commits(store: Store) -> None:
    assert store.data_version() == 0
    _seed(store)
    assert store.data_version() == 2


# -- keys ------------------------------------------------------------------------------


def test_key_round_trip(store: Store) -> None:
    record = _key(1)
    store.add_key(record)
    assert store.find_key(record.digest_hex) == record
    assert store.list_keys() == [record]


def test_list_keys_by_creation_time(store: Store) -> None:
    keys = [_key(1, minutes=30), _key(2, minutes=10), _key(3, minutes=20)]
    for record in keys:
        store.add_key(record)
    assert [k.key_id for k in store.list_keys()] == ["k2", "k3", "k1"]


def test_find_unknown_digest(store: Store) -> None:
    assert store.find_key("0" * 64) is None


def test_revoked_keys_are_not_found_but_listed(store: Store) -> None:
    store.add_key(_key(1))
    store.add_key(_key(2, role="admin"))
    store.revoke_key("k1")
    store.revoke_key("k1")  # idempotent
    assert store.find_key(_key(1).digest_hex) is None
    assert store.find_key(_key(2).digest_hex) == _key(2, role="admin")
    listed = {k.key_id: k.revoked for k in store.list_keys()}
    assert listed == {"k1": True, "k2": False}
    assert store.counts()["keys"] == 1


def test_revoke_unknown_key(store: Store) -> None:
    with pytest.raises(NotFound):
        store.revoke_key("k404")


def test_duplicate_keys_are_refused(store: Store) -> None:
    store.add_key(_key(1))
    with pytest.raises(AlreadyExists):
        store.add_key(_key(1, role="admin"))
    same_digest = KeyRecord("k9", "admin", _key(1).digest_hex, _key(9).created_at)
    with pytest.raises(AlreadyExists):
        store.add_key(same_digest)
    assert store.list_keys() == [_key(1)]
