"""Observations in both stores: idempotent ingestion, atomicity, queries, paging (and the
GeoPackage's own rows, rtree and extents)."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from geo.observations import Observation, observation_digest
from service.store.base import (
    ConflictingObservations,
    IngestResult,
    ObservationQuery,
    Store,
    StoreError,
)
from tests.conftest import make_tower
from tests.service.store.conftest import ORIGIN, T0, make_observation, sql


@pytest.fixture
def filled(store: Store) -> list[Observation]:
    """Store 100 observations (see :func:`make_observation`) and return them."""
    observations = [make_observation(i) for i in range(100)]
    assert store.add_observations(observations) == IngestResult(new=100, known=0)
    return observations


def _ids(page_items: list[Observation]) -> list[str]:
    return [o.id for o in page_items]


def test_round_trip(store: Store, filled: list[Observation]) -> None:
    for observation in filled[:12]:
        assert store.get_observation(observation.id) == observation


def test_get_unknown_is_none(store: Store) -> None:
    assert store.get_observation("nope") is None


def test_observed_at_is_gpkg_datetime_text(store: Store, gpkg_path: Path) -> None:
    store.add_observations([make_observation(0, observed_at=T0 + timedelta(microseconds=250_999))])
    assert sql(gpkg_path, "SELECT observed_at FROM observations") == [("2026-05-01T12:00:00.250Z",)]
    got = store.get_observation("obs-00000")
    assert got is not None and got.observed_at == T0 + timedelta(milliseconds=250)


def test_height_is_written_as_point_z(store: Store, gpkg_path: Path) -> None:
    store.add_observations([make_observation(1), make_observation(2)])
    rows = dict(sql(gpkg_path, "SELECT obs_id, geom FROM observations"))
    # header: 8 bytes + 4-double envelope; then WKB byte order and geometry type
    assert struct.unpack_from("<BI", rows["obs-00001"], 40) == (1, 1001)  # POINT Z
    assert struct.unpack_from("<BI", rows["obs-00002"], 40) == (1, 1)  # POINT
    assert struct.unpack_from("<3d", rows["obs-00001"], 45)[2] == 45.0 + 1 / 8


def test_received_at_is_set(store: Store, gpkg_path: Path) -> None:
    store.add_observations([make_observation(0)])
    ((received_at,),) = sql(gpkg_path, "SELECT received_at FROM observations")
    assert len(received_at) == 24 and received_at.endswith("Z")


def test_re_adding_is_idempotent(store: Store, filled: list[Observation]) -> None:
    assert store.add_observations(filled) == IngestResult(new=0, known=100)
    assert store.counts()["observations"] == 100


def test_known_observations_are_left_untouched(store: Store, filled: list[Observation]) -> None:
    result = store.add_observations([filled[5], make_observation(100)])
    assert result == IngestResult(new=1, known=1)
    assert store.get_observation(filled[5].id) == filled[5]


def test_a_known_id_with_other_content_conflicts_and_stores_nothing(
    store: Store, filled: list[Observation]
) -> None:
    changed = replace(filled[5], intensity=0.99, lon=9.0)
    before = store.data_version()
    with pytest.raises(ConflictingObservations) as raised:
        store.add_observations([make_observation(100), changed])
    assert raised.value.conflicts == [(1, observation_digest(filled[5]))]
    assert store.get_observation(filled[5].id) == filled[5]
    assert store.get_observation(make_observation(100).id) is None
    assert store.data_version() == before


def test_a_repeat_with_other_content_within_a_batch_conflicts(store: Store) -> None:
    first = make_observation(0)
    with pytest.raises(ConflictingObservations) as raised:
        store.add_observations([first, replace(first, intensity=0.5)])
    assert raised.value.conflicts == [(1, observation_digest(first))]
    assert store.counts()["observations"] == 0


def test_repeats_within_a_batch_count_as_known(store: Store) -> None:
    batch = [make_observation(0), make_observation(1), make_observation(0)]
    assert store.add_observations(batch) == IngestResult(new=2, known=1)
    assert store.counts()["observations"] == 2


def test_empty_batch(store: Store) -> None:
    assert store.add_observations([]) == IngestResult(new=0, known=0)
    assert store.data_version() == 0


def test_a_failing_batch_leaves_nothing_behind(store: Store) -> None:
    store.add_observations([make_observation(i) for i in range(10)])
    version = store.data_version()
    batch = [make_observation(i) for i in range(10, 1010)]
    batch[500] = replace(batch[500], intensity=None)  # type: ignore[arg-type]  # NOT NULL
    with pytest.raises(StoreError, match=r"(?i)not.null"):
        store.add_observations(batch)
    assert store.counts()["observations"] == 10
    assert store.get_observation(batch[0].id) is None
    assert store.data_version() == version
    batch[500] = make_observation(510)
    assert store.add_observations(batch) == IngestResult(new=1000, known=0)
    assert store.counts()["observations"] == 1010


def test_failing_batch_leaves_nothing_behind(store: Store, gpkg_path: Path) -> None:
    store.add_observations([make_observation(i) for i in range(10)])
    version = store.data_version()
    extent = sql(gpkg_path, "SELECT min_x, min_y, max_x, max_y, last_change FROM gpkg_contents")
    batch = [make_observation(i) for i in range(10, 1010)]
    batch[500] = replace(batch[500], intensity=None)  # type: ignore[arg-type]  # NOT NULL
    with pytest.raises(StoreError, match="NOT NULL"):
        store.add_observations(batch)
    assert store.counts()["observations"] == 10
    assert store.get_observation(batch[0].id) is None
    assert store.data_version() == version
    assert sql(gpkg_path, "SELECT count(*) FROM rtree_observations_geom") == [(10,)]
    assert sql(gpkg_path, "SELECT min_x, min_y, max_x, max_y, last_change FROM gpkg_contents") == (
        extent
    )
    # ... and the store still works afterwards
    batch[500] = make_observation(510)
    assert store.add_observations(batch) == IngestResult(new=1000, known=0)


def test_rtree_has_one_box_per_observation(
    store: Store, filled: list[Observation], gpkg_path: Path
) -> None:
    boxes = sql(
        gpkg_path,
        "SELECT o.obs_id, r.minx, r.maxx, r.miny, r.maxy FROM observations AS o "
        "JOIN rtree_observations_geom AS r ON r.id = o.fid",
    )
    assert len(boxes) == 100
    by_id = {o.id: o for o in filled}
    for obs_id, minx, maxx, miny, maxy in boxes:
        observation = by_id[obs_id]
        assert minx <= observation.lon <= maxx and miny <= observation.lat <= maxy
        assert maxx - minx < 1e-5


def test_contents_extent_grows_with_new_observations(store: Store, gpkg_path: Path) -> None:
    store.add_observations([make_observation(0, lon=5.0, lat=52.0)])
    store.add_observations([make_observation(1, lon=4.0, lat=53.0)])
    store.add_observations([make_observation(1, lon=4.0, lat=53.0)])  # known: no change
    assert sql(
        gpkg_path,
        "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = 'observations'",
    ) == [(4.0, 52.0, 5.0, 53.0)]


# -- queries ---------------------------------------------------------------------------


def test_query_without_filters_pages_in_order(store: Store, filled: list[Observation]) -> None:
    page = store.query_observations(ObservationQuery(limit=10))
    assert page.number_matched == 100
    assert _ids(page.items) == [o.id for o in filled[:10]]
    assert page.items == filled[:10]


def test_pages_concatenate_to_the_whole(store: Store, filled: list[Observation]) -> None:
    seen: list[str] = []
    for offset in range(0, 100, 7):
        page = store.query_observations(ObservationQuery(limit=7, offset=offset))
        assert page.number_matched == 100
        seen += _ids(page.items)
    assert seen == [o.id for o in filled]


def test_offset_past_the_end(store: Store, filled: list[Observation]) -> None:
    page = store.query_observations(ObservationQuery(limit=10, offset=500))
    assert page.items == [] and page.number_matched == 100


def test_limit_zero_counts_only(store: Store, filled: list[Observation]) -> None:
    page = store.query_observations(ObservationQuery(limit=0))
    assert page.items == [] and page.number_matched == 100


@pytest.mark.parametrize(("limit", "offset"), [(-1, 0), (10, -5)])
def test_negative_paging_is_refused(store: Store, limit: int, offset: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        store.query_observations(ObservationQuery(limit=limit, offset=offset))


def test_ties_in_time_are_ordered_by_id(store: Store) -> None:
    same_time = [make_observation(i, id=name, observed_at=T0) for i, name in enumerate("dbca")]
    store.add_observations([*same_time, make_observation(9, observed_at=T0 - timedelta(hours=1))])
    page = store.query_observations(ObservationQuery(limit=10))
    assert _ids(page.items) == ["obs-00009", "a", "b", "c", "d"]


def test_bbox_filter(store: Store, filled: list[Observation]) -> None:
    # columns 2..4 of rows 3..5 of the 10-column grid (edges inclusive)
    bbox = (ORIGIN[0] + 0.002, ORIGIN[1] + 0.003, ORIGIN[0] + 0.004, ORIGIN[1] + 0.005)
    page = store.query_observations(ObservationQuery(bbox_wgs84=bbox, limit=100))
    expected = [o for o in filled if bbox[0] <= o.lon <= bbox[2] and bbox[1] <= o.lat <= bbox[3]]
    assert len(expected) == 9
    assert page.items == expected and page.number_matched == 9


def test_bbox_is_exact_at_the_edges(store: Store) -> None:
    # The rtree keeps float32 boxes; points a hair outside must still be excluded.
    lon, lat = 5.123456789, 52.987654321
    store.add_observations(
        [
            make_observation(0, id="on-edge", lon=lon, lat=lat),
            make_observation(1, id="just-east", lon=lon + 1e-9, lat=lat),
            make_observation(2, id="just-north", lon=lon, lat=lat + 1e-9),
            make_observation(3, id="inside", lon=lon - 0.5, lat=lat - 0.5),
        ]
    )
    page = store.query_observations(
        ObservationQuery(bbox_wgs84=(lon - 1, lat - 1, lon, lat), limit=10)
    )
    assert sorted(_ids(page.items)) == ["inside", "on-edge"]
    assert page.number_matched == 2


def test_bbox_matching_nothing(store: Store, filled: list[Observation]) -> None:
    page = store.query_observations(ObservationQuery(bbox_wgs84=(100, 10, 101, 11)))
    assert page.items == [] and page.number_matched == 0


def test_time_filter_is_inclusive(store: Store, filled: list[Observation]) -> None:
    query = ObservationQuery(
        start=T0 + timedelta(minutes=10), end=T0 + timedelta(minutes=19), limit=100
    )
    page = store.query_observations(query)
    assert page.items == filled[10:20] and page.number_matched == 10


def test_time_filter_at_sub_millisecond_bounds(store: Store) -> None:
    at = T0 + timedelta(milliseconds=1)
    store.add_observations([make_observation(0, observed_at=at)])

    def count(**bounds: object) -> int:
        return store.query_observations(ObservationQuery(**bounds)).number_matched  # type: ignore[arg-type]

    assert count(start=at - timedelta(microseconds=500)) == 1
    assert count(start=at + timedelta(microseconds=500)) == 0
    assert count(end=at + timedelta(microseconds=999)) == 1
    assert count(end=at - timedelta(microseconds=1)) == 0
    assert count(start=at, end=at) == 1


def test_tower_filter(store: Store, filled: list[Observation]) -> None:
    page = store.query_observations(ObservationQuery(tower_id="T002", limit=100))
    expected = [o for o in filled if o.tower_id == "T002"]
    assert len(expected) == 33
    assert page.items == expected and page.number_matched == 33


def test_filters_combine(store: Store, filled: list[Observation]) -> None:
    bbox = (ORIGIN[0], ORIGIN[1], ORIGIN[0] + 0.005, ORIGIN[1] + 0.009)
    query = ObservationQuery(
        bbox_wgs84=bbox,
        start=T0 + timedelta(minutes=20),
        end=T0 + timedelta(minutes=80),
        tower_id="T001",
        limit=3,
        offset=2,
    )
    expected = [
        o
        for o in filled
        if bbox[0] <= o.lon <= bbox[2]
        and bbox[1] <= o.lat <= bbox[3]
        and 20 <= (o.observed_at - T0) / timedelta(minutes=1) <= 80
        and o.tower_id == "T001"
    ]
    page = store.query_observations(query)
    assert page.number_matched == len(expected) == 12
    assert page.items == expected[2:5]


def test_counts(store: Store, filled: list[Observation]) -> None:
    store.create_tower(make_tower(0))
    assert store.counts() == {"towers": 1, "observations": 100, "keys": 0}
