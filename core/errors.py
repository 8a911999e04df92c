"""Domain errors carrying the API envelope's code: {"error": {"code", "message", "details"}}."""

from typing import Any

from rest_framework import exceptions, status


class ApiError(exceptions.APIException):
    """A domain error with its own code and status, raised by services and views alike."""

    def __init__(
        self,
        *,
        code: str,
        message: str,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        details: dict | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details or {}


def envelope(code: str, message: str, details: dict | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def not_found(what: str) -> ApiError:
    """The 404 for an object the tenant does not have (another tenant's looks the same)."""
    return ApiError(code="not_found", message=f"{what} not found.", status_code=404)


def unknown_reference(field: str) -> ApiError:
    """The 404 for a body field naming an object the tenant does not have (another tenant's, an
    archived project): like an unknown id in the URL, which no schema can tell from a known one,
    but naming the field."""
    return ApiError(
        code="not_found",
        message=f"{field}: unknown {field}.",
        details={field: [f"No such {field}."]},
        status_code=404,
    )
