"""Request ids, security headers, no-store on keys and links that ignore ``Host``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.observability.headers import API_CSP, PAGE_CSP
from service.settings import Settings
from tests.service.conftest import auth

HEX32 = re.compile(r"[0-9a-f]{32}")


def test_request_id_is_generated_and_echoed(client: TestClient) -> None:
    first = client.get("/conformance").headers["x-request-id"]
    second = client.get("/conformance").headers["x-request-id"]
    assert HEX32.fullmatch(first) and HEX32.fullmatch(second) and first != second


def test_well_formed_request_id_is_kept_in_header_and_problem(client: TestClient) -> None:
    r = client.get("/collections/nowhere", headers={"X-Request-ID": "gate-3.req:0042"})
    assert r.status_code == 404
    assert r.headers["x-request-id"] == "gate-3.req:0042"
    assert r.json()["request_id"] == "gate-3.req:0042"


@pytest.mark.parametrize(
    "hostile",
    ["a" * 129, "id with spaces", "<script>", "-starts-with-dash", 'x"y', "ünï"],
)
def test_malformed_request_id_is_replaced(client: TestClient, hostile: str) -> None:
    r = client.get("/collections/nowhere", headers={"X-Request-ID": hostile.encode("utf-8")})
    echoed = r.headers["x-request-id"]
    assert HEX32.fullmatch(echoed) and r.json()["request_id"] == echoed


def test_api_answers_carry_security_headers(client: TestClient) -> None:
    r = client.get("/collections")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["content-security-policy"] == API_CSP
    problem = client.get("/nowhere")
    assert problem.status_code == 404 and problem.headers["x-frame-options"] == "DENY"


def test_pages_get_a_policy_that_lets_them_work(client: TestClient) -> None:
    r = client.get("/ar-preview")
    csp = r.headers["content-security-policy"]
    assert csp == PAGE_CSP and r.headers["x-frame-options"] == "SAMEORIGIN"
    # the inline import map is allowed by its hash, not by 'unsafe-inline'
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'sha256-" in script_src and "unsafe-inline" not in script_src
    assert "connect-src 'self'" in csp and "worker-src 'self' blob:" in csp


def test_new_key_answer_is_not_stored(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/keys", json={"role": "viewer", "label": "x"}, headers=auth(keys["admin"]))
    assert r.status_code == 201 and "key" in r.json()
    assert r.headers["cache-control"] == "no-store"
    assert client.get("/keys", headers=auth(keys["admin"])).headers["cache-control"] == "no-store"


def test_hostile_host_is_not_reflected_in_links(client: TestClient) -> None:
    hostile = {"Host": "evil.example"}
    landing = client.get("/", headers=hostile).json()
    hrefs = [link["href"] for link in landing["links"]]
    assert hrefs and all(h.startswith("http://testserver/") for h in hrefs)
    tilejson = client.get("/tiles/blight/WebMercatorQuad/tilejson.json", headers=hostile)
    assert "evil.example" not in tilejson.text


def test_links_default_to_the_bind_address(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, host="10.0.0.5", port=8080))
    with TestClient(app) as c:
        links = c.get("/", headers={"Host": "evil.example"}).json()["links"]
    assert {link["href"].split("/")[2] for link in links} == {"10.0.0.5:8080"}
