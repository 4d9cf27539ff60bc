"""Overlay versions from one complete set to the next."""

from __future__ import annotations

import dataclasses

import pytest

from ar_assets.catalog import OverlayCatalog
from ar_assets.overlay import Anchor, Overlay, OverlayKind
from geo.errors import InvalidParameter


def overlay(overlay_id: str, h: float = 40.0, color: str = "#000000", version: int = 0) -> Overlay:
    return Overlay(
        id=overlay_id,
        kind=OverlayKind.TOWER_MARKER,
        version=version,
        anchor=Anchor(5.1, 52.1, h),
        asset=f"/assets/{overlay_id}.glb",
        style={"color": color},
        properties={"tower_id": overlay_id},
    )


def versions(items: list[Overlay]) -> dict[str, int]:
    return {o.id: o.version for o in items}


def test_first_set_is_all_upserts_at_version_1() -> None:
    catalog = OverlayCatalog()
    upserts, removes = catalog.update([overlay("a", version=7), overlay("b")])
    assert versions(upserts) == {"a": 1, "b": 1}
    assert removes == []
    assert [o.id for o in catalog.overlays()] == ["a", "b"]


def test_unchanged_content_keeps_the_version_and_is_not_sent() -> None:
    catalog = OverlayCatalog()
    catalog.update([overlay("a"), overlay("b")])
    assert catalog.update([overlay("b"), overlay("a")]) == ([], [])
    current_a = catalog.get("a")
    assert current_a is not None and current_a.version == 1


@pytest.mark.parametrize(
    "change",
    [
        {"anchor": Anchor(5.1, 52.1, 41.0)},
        {"asset": "/assets/other.glb"},
        {"style": {"color": "#ffffff"}},
        {"properties": {"tower_id": "a", "intensity_max": 0.5}},
    ],
)
def test_any_content_change_bumps_the_version(change: dict[str, object]) -> None:
    catalog = OverlayCatalog()
    catalog.update([overlay("a"), overlay("b")])
    changed = dataclasses.replace(overlay("a"), **change)  # type: ignore[arg-type]
    upserts, removes = catalog.update([changed, overlay("b")])
    assert versions(upserts) == {"a": 2}
    assert removes == []
    upserts, _ = catalog.update(
        [dataclasses.replace(changed, style={"color": "#123456"}), overlay("b")]
    )
    assert versions(upserts) == {"a": 3}


def test_missing_ids_are_removed_and_come_back_with_a_higher_version() -> None:
    catalog = OverlayCatalog()
    catalog.update([overlay("a"), overlay("b"), overlay("c")])
    catalog.update([overlay("a", h=1.0), overlay("b"), overlay("c")])  # a -> 2
    upserts, removes = catalog.update([overlay("b")])
    assert upserts == []
    assert removes == ["a", "c"]
    assert len(catalog) == 1
    upserts, removes = catalog.update([overlay("a"), overlay("b"), overlay("d")])
    assert versions(upserts) == {"a": 3, "d": 1}
    assert removes == []


def test_duplicate_ids_are_refused_and_leave_the_catalog_alone() -> None:
    catalog = OverlayCatalog()
    catalog.update([overlay("a")])
    with pytest.raises(InvalidParameter):
        catalog.update([overlay("b"), overlay("b", h=3.0)])
    assert [o.id for o in catalog.overlays()] == ["a"]
    assert catalog.update([overlay("a")]) == ([], [])


def test_empty_sets() -> None:
    catalog = OverlayCatalog()
    assert catalog.update([]) == ([], [])
    catalog.update([overlay("a")])
    assert catalog.update([]) == ([], ["a"])
