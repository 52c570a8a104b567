"""OpenAPI generation: every operation documents the error responses it can give, in the one shape.

Listing them per view would be forgotten on the next endpoint; schemathesis (in the test suite) checks
that no response falls outside what the schema says.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

from .api_errors import ErrorSerializer

AUTHENTICATED_ERRORS = {
    "400": "Invalid input (validation errors name the field).",
    "401": "No credentials, or the token is invalid, expired or revoked.",
    "403": "Your role may not do this.",
    "404": "No such object, or it is outside your reach.",
    "429": "Too many requests from this client; retry after the `Retry-After` seconds.",
}


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        bodies = super()._get_response_bodies(direction)
        if direction != "response":
            return bodies
        if getattr(self.view, "public_endpoint", False):
            # No authentication, but rate-limited per address like every anonymous request.
            errors = {"429": AUTHENTICATED_ERRORS["429"]}
        else:
            errors = dict(AUTHENTICATED_ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors["413"] = "The request body is over the documented limit (`API_MAX_BODY_BYTES` for JSON)."
            errors["415"] = "Unsupported request content type."
        for code, description in errors.items():
            if code not in bodies:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = description
                bodies[code] = response
        return bodies


NO_NUL = "^[^\\x00]*$"


def no_nul_in_request_strings(result, generator, request, public):
    """Postprocessing hook: every free string the API accepts says it may not contain a NUL character.

    DRF refuses ``\\x00`` in every ``CharField`` (PostgreSQL can't store it); without this the schema promised
    to accept it. Strings with a format, an enum or a pattern of their own are left as they are.
    """

    def visit(schema):
        if not isinstance(schema, dict):
            return
        if schema.get("type") == "string" and not ({"format", "enum", "pattern"} & set(schema)):
            schema["pattern"] = NO_NUL
        for key in ("properties",):
            for child in (schema.get(key) or {}).values():
                visit(child)
        for key in ("items", "additionalProperties"):
            visit(schema.get(key))
        for key in ("allOf", "oneOf", "anyOf"):
            for child in schema.get(key) or ():
                visit(child)

    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            visit(schema)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", ()) if isinstance(operation, dict) else ():
                if parameter.get("in") == "query":
                    visit(parameter.get("schema"))
                    if (parameter.get("schema") or {}).get("type") == "string":
                        # An empty filter value is a 400 (octclinic.api_filters.check_query_parameters).
                        parameter["schema"].setdefault("minLength", 1)
    return result
