"""The GeoPackage binary geometry codec and the rtree SQL functions."""

from __future__ import annotations

import math
import sqlite3
import struct

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from service.store.gpkg_geometry import (
    decode_geometry,
    decode_points,
    encode_geometry,
    encode_points,
    parse_header,
    register_sql_functions,
    st_is_empty,
    st_max_x,
    st_max_y,
    st_min_x,
    st_min_y,
)

GEOMETRIES = {
    "point": Point(5.1214, 52.0907),
    "point-z": Point(5.1214, 52.0907, 45.25),
    "polygon": box(5.12, 52.09, 5.13, 52.1),
    "polygon-hole": Polygon(
        [(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (2, 4), (4, 4), (4, 2)]]
    ),
    "line": LineString([(-179.5, -89.0), (179.5, 89.0)]),
    "tiny-decimals": Point(0.1 + 0.2, 1 / 3),
}


@pytest.mark.parametrize("geom", GEOMETRIES.values(), ids=GEOMETRIES.keys())
def test_round_trip_is_exact(geom: BaseGeometry) -> None:
    decoded = decode_geometry(encode_geometry(geom, 4326))
    assert shapely.equals_identical(decoded, geom)
    assert decoded.has_z == geom.has_z


@pytest.mark.parametrize("geom", GEOMETRIES.values(), ids=GEOMETRIES.keys())
def test_header_is_little_endian_with_xy_envelope(geom: BaseGeometry) -> None:
    blob = encode_geometry(geom, 4326)
    assert blob[:3] == b"GP\x00"
    assert blob[3] == 0b0000_0011  # little endian, envelope [minx, maxx, miny, maxy]
    minx, miny, maxx, maxy = geom.bounds
    assert struct.unpack_from("<i4d", blob, 4) == (4326, minx, maxx, miny, maxy)
    assert blob[40:] == shapely.to_wkb(geom, flavor="iso", byte_order=1)


def test_z_is_written_as_iso_wkb() -> None:
    blob = encode_geometry(Point(1.0, 2.0, 3.0), 4326)
    assert struct.unpack_from("<BI", blob, 40) == (1, 1001)  # ISO "POINT Z"


def test_output_dimension_2_drops_z() -> None:
    blob = encode_geometry(Point(1.0, 2.0, 3.0), 4326, output_dimension=2)
    assert struct.unpack_from("<BI", blob, 40) == (1, 1)
    assert not decode_geometry(blob).has_z


def test_empty_geometry_has_empty_flag_and_no_envelope() -> None:
    blob = encode_geometry(Point(), 4326)
    header = parse_header(blob)
    assert header.empty and header.envelope is None and header.wkb_offset == 8
    assert blob[3] == 0b0001_0001
    assert decode_geometry(blob).is_empty
    assert st_is_empty(blob) == 1
    assert st_min_x(blob) is None


def test_srs_id_is_kept() -> None:
    assert parse_header(encode_geometry(Point(1, 2), -1)).srs_id == -1
    assert parse_header(encode_geometry(Point(1, 2), 0)).srs_id == 0


def _big_endian_blob(geom: BaseGeometry, srs_id: int) -> bytes:
    minx, miny, maxx, maxy = geom.bounds
    header = struct.pack(">2sBBi4d", b"GP", 0, 0b0000_0010, srs_id, minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geom, flavor="iso", byte_order=0)


def test_reads_big_endian_headers() -> None:
    geom = box(1, 2, 3, 4)
    blob = _big_endian_blob(geom, 3857)
    header = parse_header(blob)
    assert header.srs_id == 3857
    assert header.envelope == (1.0, 3.0, 2.0, 4.0)
    assert decode_geometry(blob).equals(geom)
    assert (st_min_x(blob), st_max_x(blob), st_min_y(blob), st_max_y(blob)) == (1, 3, 2, 4)


def test_reads_blobs_without_envelope() -> None:
    # GDAL writes points like this.
    geom = LineString([(3, -1), (-2, 7)])
    blob = struct.pack("<2sBBi", b"GP", 0, 0b0000_0001, 4326) + shapely.to_wkb(geom)
    assert parse_header(blob).envelope is None
    assert decode_geometry(blob).equals(geom)
    assert (st_min_x(blob), st_max_x(blob), st_min_y(blob), st_max_y(blob)) == (-2, 3, -1, 7)
    assert st_is_empty(blob) == 0


def test_envelope_xyz_is_skipped() -> None:
    geom = Point(1, 2, 3)
    header = struct.pack("<2sBBi6d", b"GP", 0, 0b0000_0101, 4326, 1, 1, 2, 2, 3, 3)
    blob = header + shapely.to_wkb(geom, flavor="iso", byte_order=1)
    assert parse_header(blob).wkb_offset == 56
    assert shapely.equals_identical(decode_geometry(blob), geom)


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"XX\x00\x03" + bytes(60), "magic"),
        (b"GP\x01\x03" + bytes(60), "version"),
        (b"GP\x00\x23" + bytes(60), "extended"),
        (b"GP\x00\x0b" + bytes(60), "indicator"),
        (b"GP\x00\x03" + bytes(20), "truncated"),
        (b"GP", "magic"),
    ],
)
def test_rejects_invalid_blobs(blob: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_header(blob)


def test_rejects_unreadable_wkb() -> None:
    blob = struct.pack("<2sBBi", b"GP", 0, 1, 4326) + b"\x01\x99\x99\x00\x00garbage"
    with pytest.raises(ValueError, match="WKB"):
        decode_geometry(blob)


def test_sql_functions_pass_null_through() -> None:
    for function in (st_is_empty, st_min_x, st_max_x, st_min_y, st_max_y):
        assert function(None) is None


def test_encode_points_matches_single_encoding() -> None:
    heights: list[float | None] = [None, 12.5, None, -3.0]
    lon = [5.0, 5.1, 5.2, -179.9]
    lat = [52.0, 52.1, -89.9, 0.0]
    blobs = encode_points(lon, lat, heights, 4326)
    for x, y, h, blob in zip(lon, lat, heights, blobs, strict=True):
        point = Point(x, y) if h is None else Point(x, y, h)
        assert blob == encode_geometry(point, 4326)


def test_encode_points_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="one length"):
        encode_points([1.0, 2.0], [3.0], [None, None], 4326)


def test_decode_points() -> None:
    blobs = encode_points([1.0, 2.0], [3.0, 4.0], [None, 9.5], 4326)
    x, y, z = decode_points(blobs)
    assert x.tolist() == [1.0, 2.0] and y.tolist() == [3.0, 4.0]
    assert math.isnan(z[0]) and z[1] == 9.5


def test_decode_points_rejects_other_types() -> None:
    with pytest.raises(ValueError, match="point"):
        decode_points([encode_geometry(box(0, 0, 1, 1), 4326)])


def test_decode_points_of_nothing() -> None:
    x, y, z = decode_points([])
    assert x.size == y.size == z.size == 0


def test_functions_are_registered_on_a_connection() -> None:
    connection = sqlite3.connect(":memory:")
    register_sql_functions(connection)
    blob = encode_geometry(box(-1.5, 2.5, 3.5, 4.5), 4326)
    row = connection.execute(
        "SELECT ST_IsEmpty(?1), ST_MinX(?1), st_maxx(?1), ST_MINY(?1), ST_MaxY(?1), "
        "ST_IsEmpty(NULL)",
        (blob,),
    ).fetchone()
    assert row == (0, -1.5, 3.5, 2.5, 4.5, None)
    connection.close()


def test_sql_function_errors_abort_the_statement() -> None:
    connection = sqlite3.connect(":memory:")
    register_sql_functions(connection)
    with pytest.raises(sqlite3.OperationalError):
        connection.execute("SELECT ST_MinX(x'00112233')").fetchone()
    connection.close()


def test_vectorized_encoding_handles_a_thousand_points() -> None:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(-180, 180, 1000), rng.uniform(-90, 90, 1000)
    heights = [float(h) if i % 3 else None for i, h in enumerate(rng.normal(50, 10, 1000))]
    x, y, z = decode_points(encode_points(lon, lat, heights, 4326))
    assert np.array_equal(x, lon) and np.array_equal(y, lat)
    expected_z = np.array([np.nan if h is None else h for h in heights])
    assert np.array_equal(z, expected_z, equal_nan=True)
