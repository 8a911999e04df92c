"""`Authorization: Api-Key <key>` for DRF."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenants.models import ApiKey
from tenants.services import api_key_authenticate

KEYWORD = "Api-Key"


class ApiKeyPrincipal:
    """The authenticated party when a request carries an API key rather than a session."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.pk = None

    def __str__(self) -> str:
        return f"api-key:{self.api_key.prefix}"


def parse_api_key_header(value: str) -> str | None:
    """The raw key from an Authorization header value, None when it is not an Api-Key header."""
    scheme, _, raw_key = value.partition(" ")
    if scheme.lower() != KEYWORD.lower():
        return None
    return raw_key.strip()


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        raw_key = parse_api_key_header(request.headers.get("Authorization", ""))
        if raw_key is None:
            return None
        if not raw_key:
            raise exceptions.AuthenticationFailed(
                "The Api-Key header carries no key.", "invalid_api_key"
            )
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.", "invalid_api_key")
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to requests with no credentials.
        return KEYWORD


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes `Authorization: Api-Key <key>` in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`",
        }
