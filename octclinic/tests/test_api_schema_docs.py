"""The OpenAPI schema and its interactive docs: served, accurate where it matters, no CDN."""

from __future__ import annotations

from django.test import Client


def _schema(client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_documents_auth_errors_and_enums(db):
    schema = _schema(Client())
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    patients_list = schema["paths"]["/api/v1/patients/"]["get"]["responses"]
    assert {"200", "401", "403", "429"} <= set(patients_list)
    assert patients_list["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    upload = schema["paths"]["/api/v1/scans/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "400", "409", "422"} <= set(upload["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in upload["parameters"])
    eye = schema["components"]["schemas"]["EyeEnum"]
    assert eye["enum"] == ["OD", "OS"]
    book = schema["components"]["schemas"]["AppointmentBookRequest"]
    assert set(book["required"]) == {"patient", "resource", "start", "end"}


def test_no_phi_filters_in_urls(db):
    """Names, MRNs and birth dates are never query parameters: search is a POST body."""
    parameters = {p["name"] for p in _schema(Client())["paths"]["/api/v1/patients/"]["get"].get("parameters", [])}
    assert not parameters & {"mrn", "first_name", "last_name", "date_of_birth", "search", "q"}


def test_docs_page_uses_vendored_assets(db):
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html


def test_unknown_api_urls_answer_json_404(db):
    response = Client().get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_health_is_public_and_terse(db):
    response = Client().get("/api/v1/health/")
    assert response.status_code in (200, 503)
    assert set(response.json()) == {"status", "checks"}
    assert set(response.json()["checks"]) == {"database", "broker"}
