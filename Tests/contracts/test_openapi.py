"""The OpenAPI document describes exactly the HTTP routes the hub registers, and is itself valid."""
import re
from pathlib import Path

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "Contracts" / "openapi.yaml"
ROUTE = re.compile(r'[rR]outer\.(get|post|put|delete)\("([^"]+)"\)')


def registered_routes():
    routes = set()
    for source in (ROOT / "Sources").rglob("*.swift"):
        for method, path in ROUTE.findall(source.read_text()):
            if source.parent.name == "PartnerSimulation":
                continue  # the simulated back-offices' own server, not the hub's
            routes.add((method, "/" + re.sub(r":([A-Za-z]+)", r"{\1}", path)))
    return routes


def documented_routes():
    spec, _ = read_from_filename(str(DOCUMENT))
    return {(method, path) for path, item in spec["paths"].items() for method in item if method in {"get", "post", "put", "delete"}}


def test_document_is_valid_openapi():
    spec, base_uri = read_from_filename(str(DOCUMENT))
    validate(spec, base_uri=base_uri)


def test_every_route_is_documented_and_every_documented_route_exists():
    registered = registered_routes()
    documented = documented_routes()
    assert ("get", "/api/matrix") in registered, "the route pattern no longer finds the hub's routes"
    assert registered - documented == set(), "registered but not in openapi.yaml"
    assert documented - registered == set(), "in openapi.yaml but not registered"


def test_every_endpoint_but_the_probes_and_metrics_needs_a_token():
    spec, _ = read_from_filename(str(DOCUMENT))
    assert spec["security"] == [{"bearer": []}]
    open_paths = {path for path, item in spec["paths"].items() for operation in item.values() if operation.get("security") == []}
    assert open_paths == {"/healthz", "/readyz", "/metrics"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path not in open_paths:
                assert "401" in operation["responses"], f"{method} {path}"
