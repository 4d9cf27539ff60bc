"""Content-addressed asset ids and the bounded, thread-safe asset store."""

from __future__ import annotations

import hashlib
import threading

import pytest

from ar_assets.assets import AssetStore, asset_href, asset_id
from geo.errors import InvalidParameter


def blob(k: int, size: int = 100) -> bytes:
    return bytes([k % 256]) * size


def test_asset_id_is_a_sha256_prefix() -> None:
    data = b"glTF example"
    assert asset_id(data) == hashlib.sha256(data).hexdigest()[:32]
    assert len(asset_id(b"")) == 32
    assert asset_id(b"a") != asset_id(b"b")


def test_put_returns_the_href_and_get_the_bytes() -> None:
    store = AssetStore()
    href = store.put(b"abc")
    key = asset_id(b"abc")
    assert href == asset_href(key) == f"/assets/{key}.glb"
    assert store.get(key) == b"abc"
    assert key in store
    assert store.get("0" * 32) is None
    assert store.get("../../etc/passwd") is None


def test_put_is_idempotent() -> None:
    store = AssetStore()
    assert store.put(blob(1)) == store.put(bytearray(blob(1)))
    assert len(store) == 1
    assert store.nbytes == 100


def test_least_recently_used_assets_go_first() -> None:
    store = AssetStore(max_bytes=300)
    keys = [asset_id(blob(k)) for k in range(4)]
    for k in range(3):
        store.put(blob(k))
    assert store.get(keys[0]) == blob(0)  # 0 is now more recent than 1
    store.put(blob(3))
    assert keys[1] not in store
    assert all(k in store for k in (keys[0], keys[2], keys[3]))
    assert store.nbytes == 300
    store.put(blob(2))  # refreshes 2, evicts nothing
    store.put(blob(4))
    assert keys[0] not in store
    assert store.nbytes == 300


def test_an_asset_larger_than_the_bound_is_kept_alone() -> None:
    store = AssetStore(max_bytes=150)
    store.put(blob(1))
    big = blob(2, 1000)
    store.put(big)
    assert len(store) == 1
    assert store.get(asset_id(big)) == big


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(InvalidParameter):
        AssetStore(max_bytes=0)


def test_concurrent_puts_and_gets_keep_the_books_straight() -> None:
    store = AssetStore(max_bytes=50 * 64)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for k in range(200):
                data = blob(offset + k, 64)
                href = store.put(data)
                got = store.get(asset_id(data))
                assert got is None or got == data
                assert href.endswith(".glb")
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t * 7,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.nbytes == 64 * len(store) <= 50 * 64
