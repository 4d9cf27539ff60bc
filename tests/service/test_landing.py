"""Landing page, conformance and the OpenAPI 3.0 definition."""

from __future__ import annotations

from fastapi.testclient import TestClient
from openapi_schema_validator import OAS30Validator, validate


def test_landing_links(client: TestClient) -> None:
    links = {link["rel"]: link for link in client.get("/").json()["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["data"]["href"] == "http://testserver/collections"


def test_conformance_declares_core_and_crs(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes


def test_api_definition_is_valid_openapi_30(client: TestClient) -> None:
    import importlib.resources

    import yaml

    doc = client.get("/api").json()
    assert doc["openapi"] == "3.0.3"
    schema_file = (
        importlib.resources.files("ogctests") / "features/schemas/openapi_schema_v3.0.yaml"
    )
    validate(doc, yaml.safe_load(schema_file.read_text()), cls=OAS30Validator)
    bbox = next(
        p
        for p in doc["paths"]["/collections/towers/items"]["get"]["parameters"]
        if p["name"] == "bbox"
    )
    assert bbox["schema"]["minItems"] == 4 and bbox["explode"] is False
    body = doc["paths"]["/observations"]["post"]["requestBody"]["content"]
    ref = body["application/geo+json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert ref in doc["components"]["schemas"]


def test_docs_page(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json()["status"] == 404
