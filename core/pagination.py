from base64 import b64decode, b64encode
from typing import Any
from urllib import parse

from django.core import signing
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.errors import ApiError

# A cursor is DRF's (offset, reverse, position) token, signed: the position goes into the query
# as a value of the ordering field, so one the server did not hand out could make the database
# refuse the query (a 500), e.g. `garbage` for a date. This is the schema's description of it.
CURSOR_DESCRIPTION = (
    "The `cursor` of a page's `next` link, as the server handed it out; any other value is 404 "
    "`invalid_cursor`, like an unknown id."
)


def invalid_cursor() -> ApiError:
    return ApiError(
        code="invalid_cursor",
        message="Unknown cursor: follow the `next` link of a page.",
        status_code=404,
    )


class CursorPage(CursorPagination):
    """`{"results": [...], "next": url|null}`: no COUNT, stable under inserts. A bad `page_size`
    is a 400 naming it, a cursor the server did not hand out a 404, neither silently ignored;
    an empty one is as if not given."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering: str | list[str] | tuple[str, ...] = "-created_at"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if not raw:
            return self.page_size
        # Digits only: int() would also take " 5", "+5", "5_0" or "٥", which no integer is.
        size = int(raw) if raw.isascii() and raw.isdigit() else 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: f"A whole number from 1 to {self.max_page_size}."}
            )
        return size

    def _signer(self) -> signing.Signer:
        # Signed for this list's ordering: a cursor of another list, whose position is a value
        # of another field, is refused too.
        return signing.Signer(salt=f"core.pagination.cursor:{','.join(self.ordering)}")

    def encode_cursor(self, cursor: Cursor) -> str:
        tokens: dict[str, Any] = {}
        if cursor.offset != 0:
            tokens["o"] = str(cursor.offset)
        if cursor.reverse:
            tokens["r"] = "1"
        if cursor.position is not None:
            tokens["p"] = cursor.position
        encoded = b64encode(parse.urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")
        assert self.base_url is not None  # set by paginate_queryset, which links are made in
        return replace_query_param(
            self.base_url, self.cursor_query_param, self._signer().sign(encoded)
        )

    def decode_cursor(self, request: Request) -> Cursor | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            querystring = b64decode(self._signer().unsign(raw).encode("ascii")).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
            offset = int(tokens.get("o", ["0"])[0])
            reverse = bool(int(tokens.get("r", ["0"])[0]))
        except (signing.BadSignature, TypeError, ValueError):
            raise invalid_cursor() from None
        if offset < 0:
            raise invalid_cursor()
        # As DRF: the offset is capped, so that no cursor asks for an expensive query.
        position: Any = tokens.get("p", [None])[0]  # a str (the stubs say int)
        return Cursor(offset=min(offset, self.offset_cutoff), reverse=reverse, position=position)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
            elif parameter["name"] == self.cursor_query_param:
                parameter["description"] = CURSOR_DESCRIPTION
        return parameters
