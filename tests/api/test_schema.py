"""The served OpenAPI schema: valid, versioned with a changelog, and its docs page within the strict CSP."""

import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from api.schema import API_VERSION

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = Path(__file__).with_name("schema_versions.json")
SCHEMA = "/api/v1/schema/"


def served_schema(client):
    response = client.get(SCHEMA, {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def digest(schema):
    return hashlib.sha256(json.dumps(schema, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@pytest.mark.django_db
def test_the_schema_is_served_as_json_and_yaml_and_is_valid_openapi(client):
    as_json = served_schema(client)
    by_accept = json.loads(client.get(SCHEMA, headers={"Accept": "application/json"}).content)
    as_yaml = yaml.safe_load(client.get(SCHEMA).content)
    assert as_json == by_accept == as_yaml
    assert as_json["openapi"] == "3.1.0" and as_json["info"]["version"] == API_VERSION
    validate(as_json)  # openapi-spec-validator: raises on any fault


@pytest.mark.django_db
def test_every_operation_documents_its_errors_in_the_one_shape(client):
    schema = served_schema(client)
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"status", "code", "detail", "fields"}
    assert schema["components"]["securitySchemes"]["personalAccessToken"]["scheme"] == "bearer"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "429"} <= codes, (method, path)
            assert operation.get("security") == [{"personalAccessToken": []}], (method, path)
            if method == "post":
                assert {"201", "400", "403", "404", "415", "422"} <= codes, path
                assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"]), path
            elif "/feeds/" not in path:
                assert "304" in codes and any(p["name"] == "If-None-Match" for p in operation["parameters"]), path
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


@pytest.mark.django_db
def test_the_schema_is_the_same_whatever_the_database(client):
    """No bound in the schema comes from the database's own integer ranges (SQLite has none, PostgreSQL's vary)."""
    schema = served_schema(client)
    for name, component in schema["components"]["schemas"].items():
        for field, definition in component.get("properties", {}).items():
            assert definition.get("maximum") not in (32767, 2147483647), (name, field)


@pytest.mark.django_db
def test_a_schema_change_comes_with_a_new_version_and_a_changelog_line(client):
    """Change api.schema.API_VERSION, add a row to README's API changelog and a line to schema_versions.json."""
    schema = served_schema(client)
    history = json.loads(VERSIONS.read_text())
    latest = history[-1]
    version, current = schema["info"]["version"], digest(schema)
    assert len({entry["version"] for entry in history}) == len(history), "each version appears once"
    if current != latest["sha256"]:
        assert version != latest["version"], (
            f"The served schema changed but its version is still {version}: set a new API_VERSION in api/schema.py, "
            f"add its line to the changelog in README.md (API and data feeds) and append "
            f'{{"version": "<new>", "sha256": "{current}"}} to {VERSIONS.name}.'
        )
        pytest.fail(f'Append {{"version": "{version}", "sha256": "{current}"}} to {VERSIONS.name}.')
    assert version == latest["version"], f"The version changed to {version} but the schema did not."
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## API and data feeds", 1)[1].split("\n## ", 1)[0]
    for entry in history:
        assert re.search(rf"^\| {re.escape(entry['version'])} \| \d{{4}}-\d{{2}}-\d{{2}} \| .+\|$", section, re.M), (
            f"README.md's API changelog has no line for version {entry['version']}"
        )


@pytest.mark.django_db
def test_the_docs_page_runs_under_the_strict_csp_from_our_own_static_files(client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    csp = page["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "<style" not in html and 'style="' not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" and 'src="/' in attrs for attrs, body in scripts)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    init = re.search(r'<script src="([^"]*script[^"]*)"', html).group(1).replace("&amp;", "&")
    script = client.get(init)
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert SCHEMA in script.content.decode()
