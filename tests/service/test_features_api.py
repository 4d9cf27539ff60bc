"""OGC API - Features Part 1 (and the Part 2 CRS parameters) on towers and observations."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from geo.layer import Tower
from service.state import AppState
from tests.service.conftest import auth, collection, observation

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
def observed(client: TestClient, keys: dict[str, str]) -> None:
    feats = [observation(i, lon=5.1215 + 0.0006 * (i % 10), lat=52.0908) for i in range(30)]
    r = client.post("/observations", json=collection(feats), headers=auth(keys["sensor"]))
    assert r.status_code == 201


def test_items_page_has_counts_and_absolute_links(client: TestClient) -> None:
    r = client.get("/collections/towers/items", params={"limit": 5})
    assert r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert (body["numberMatched"], body["numberReturned"]) == (12, 5)
    rels = {link["rel"]: link for link in body["links"]}
    assert rels["self"]["href"].startswith("http://testserver/collections/towers/items")
    assert rels["next"]["href"] == "http://testserver/collections/towers/items?limit=5&offset=5"
    assert all("type" in link for link in body["links"])


def test_paging_visits_every_tower_once(client: TestClient, seeded: list[Tower]) -> None:
    seen: list[str] = []
    url: str | None = "/collections/towers/items?limit=5"
    while url:
        body = client.get(url).json()
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert seen == sorted(t.id for t in seeded)


def test_bbox_selects_towers_that_intersect(client: TestClient, seeded: list[Tower]) -> None:
    t = seeded[3]
    minx, miny, maxx, maxy = t.footprint_wgs84.bounds
    r = client.get("/collections/towers/items", params={"bbox": f"{minx},{miny},{maxx},{maxy}"})
    ids = [f["id"] for f in r.json()["features"]]
    assert t.id in ids and len(ids) < len(seeded)


@pytest.mark.usefixtures("observed")
def test_observation_bbox_and_datetime(client: TestClient) -> None:
    everything = client.get("/collections/observations/items", params={"limit": 100}).json()
    assert everything["numberMatched"] == 30
    west = client.get(
        "/collections/observations/items", params={"bbox": "5.1210,52.09,5.1225,52.092"}
    ).json()
    assert 0 < west["numberMatched"] < 30
    assert all(f["geometry"]["coordinates"][0] <= 5.1225 for f in west["features"])
    day = client.get(
        "/collections/observations/items",
        params={"datetime": "2026-11-02T00:00:00Z/2026-11-03T23:59:59Z"},
    ).json()
    assert day["numberMatched"] == 4  # ids 1, 2, 26, 27 fall on Nov 2 and 3
    open_end = client.get(
        "/collections/observations/items", params={"datetime": "2026-11-25T00:00:00Z/.."}
    ).json()
    assert open_end["numberMatched"] == 1


@pytest.mark.usefixtures("observed")
def test_tower_filter_on_observations(client: TestClient, keys: dict[str, str]) -> None:
    client.post(
        "/observations",
        json=collection([observation(99, tower_id="T002", tier=1)]),
        headers=auth(keys["sensor"]),
    )
    body = client.get("/collections/observations/items", params={"tower_id": "T002"}).json()
    assert [f["id"] for f in body["features"]] == ["obs-99"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "unlimited"},
        {"limit": "0"},
        {"limit": "10001"},
        {"offset": "-1"},
        {"ooga": "booga"},
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "0,10,1,5"},
        {"datetime": "yesterday"},
        {"datetime": "2026-11-03T00:00:00Z/2026-11-01T00:00:00Z"},
        {"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"},
    ],
)
@pytest.mark.parametrize("collection_id", ["towers", "observations"])
def test_invalid_parameters_are_400(
    collection_id: str, params: dict[str, str], client: TestClient
) -> None:
    r = client.get(f"/collections/{collection_id}/items", params=params)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] in {*params, "ooga"}


def test_crs_epsg4326_puts_latitude_first(client: TestClient, seeded: list[Tower]) -> None:
    uri = "http://www.opengis.net/def/crs/EPSG/0/4326"
    r = client.get(f"/collections/towers/items/{seeded[0].id}", params={"crs": uri})
    assert r.headers["content-crs"] == f"<{uri}>"
    lat, lon = r.json()["geometry"]["coordinates"][0][0]
    x, y = seeded[0].footprint_wgs84.exterior.coords[0]
    assert (lat, lon) == pytest.approx((y, x))


def test_crs_utm_gives_metres(client: TestClient, seeded: list[Tower]) -> None:
    offered = client.get("/collections/towers").json()["crs"]
    utm = next(c for c in offered if c.endswith("/32631"))
    r = client.get(f"/collections/towers/items/{seeded[0].id}", params={"crs": utm})
    x, y = r.json()["geometry"]["coordinates"][0][0]
    assert 600_000 < x < 700_000 and 5_700_000 < y < 5_800_000


def test_collections_list_matches_each_collection(client: TestClient) -> None:
    listed = client.get("/collections").json()["collections"]
    assert {c["id"] for c in listed} == {"towers", "observations", "zones", "treatments"}
    for c in listed:
        assert client.get(f"/collections/{c['id']}").json() == c


def test_unknown_feature_and_collection_are_404_problems(client: TestClient) -> None:
    for path in ("/collections/towers/items/NOPE", "/collections/nope/items"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_feature_links(client: TestClient, seeded: list[Tower]) -> None:
    links = client.get(f"/collections/towers/items/{seeded[0].id}").json()["links"]
    assert {link["rel"] for link in links} == {"self", "collection"}


def test_healthz_counts(client: TestClient, state: AppState, keys: dict[str, str]) -> None:
    body = client.get("/healthz", headers=auth(keys["admin"])).json()
    assert body["status"] == "ok" and body["counts"]["towers"] == 12
    assert body["store"]["kind"] == "geopackage"
