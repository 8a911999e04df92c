"""Input fields and rules that accept what the OpenAPI schema documents and nothing else.

DRF is lenient where a schema cannot follow: a CharField takes the number 5 as "5", a FileField is
documented as a URL. These say the same thing to the server and to the schema (and schemathesis
checks that they agree, in both directions)."""

import re
from typing import Any, ClassVar

from django.core.validators import ProhibitNullCharactersValidator as ProhibitNull
from django.core.validators import RegexValidator
from django.http import QueryDict
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

DB_INTEGER_MAX = 2**31 - 1  # PostgreSQL's integer
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
# DRF refuses NUL characters in any string; these say so in a pattern the schema shows (one per
# field): a string that is not empty, without NUL (with `allow_blank` the schema adds the empty
# string as the other choice of a oneOf), or one with a character that is not white space.
NUL_MESSAGE = "Null characters are not allowed."
no_nul = RegexValidator(r"\A[^\x00]+\Z", message=NUL_MESSAGE)
query_no_nul = RegexValidator(r"\A[^\x00]*\Z", message=NUL_MESSAGE)
QUERY_TEXT_SCHEMA = {"type": "string", "pattern": "^[^\\u0000]*$"}
# White space spelled out: regex engines differ on what `\s` is (Python's takes \x1c-\x1f too).
not_blank = RegexValidator(
    r"\A[\t\n\x0b\x0c\r ]*[^\t\n\x0b\x0c\r \x00][^\x00]*\Z",
    message=f"This field may not be blank. {NUL_MESSAGE}",
)


class StrictCharField(serializers.CharField):
    """A string, and only a string, kept as sent: a JSON number or boolean is refused, not turned
    into text; white space is not trimmed (a trimmed string would pass `max_length` where the
    schema says it is too long); a form part sent empty is the empty string (DRF takes it for a
    field not sent, as an HTML form sends every field, and would fill in the default)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        # DRF's own NUL validator, as a pattern the schema can show (unless the field has one).
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNull)]
        if not any(isinstance(v, RegexValidator) for v in self.validators):
            self.validators.append(no_nul if self.allow_blank else not_blank)

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return dictionary[self.field_name]
        return super().get_value(dictionary)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _sent_as_text(field: serializers.Field) -> bool:
    """Whether the field's value came as text (a query string or a form), where every value is a
    string, rather than as JSON, where a number is a number."""
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


class StrictIntegerField(serializers.IntegerField):
    """An integer: a JSON integer, or in a query or form its digits (DRF's `int()` would also
    take " 5", "+5", "5.0" or "٥", and JSON's "5" or true); at most what the database's integer
    holds unless the field says less (a larger one would fail the query)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_value", DB_INTEGER_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and _sent_as_text(self):
            if not _INTEGER.fullmatch(data):
                self.fail("invalid")
        elif isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A number: a JSON number (not a string or a boolean), or in a query or form its text."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, str) and _sent_as_text(self):
            if not _NUMBER.fullmatch(data):
                self.fail("invalid")
        elif isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID as a string (DRF's would take a JSON integer for one)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDecimalField(serializers.DecimalField):
    """A decimal as a JSON string of digits (money never travels as a float): what the pattern
    the schema shows allows, without DRF's leniency (a number, white space, an exponent,
    leading zeros past `max_digits`)."""

    def __init__(self, *, max_digits: int, decimal_places: int, **kwargs: Any) -> None:
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        whole, places = max_digits - decimal_places, decimal_places
        self.pattern = (
            rf"^-?(?:[0-9]{{1,{whole}}}(?:\.[0-9]{{0,{places}}})?|\.[0-9]{{1,{places}}})$"
        )

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not re.fullmatch(self.pattern[1:-1], data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDecimalFieldExtension(OpenApiSerializerFieldExtension):
    target_class = StrictDecimalField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict:
        return {"type": "string", "format": "decimal", "pattern": self.target.pattern}


def query_text_field(**kwargs: Any) -> serializers.CharField:
    """A query parameter's text: kept as sent, without NUL (sent empty, it counts as not sent)."""
    return serializers.CharField(trim_whitespace=False, validators=[query_no_nul], **kwargs)


def text_field(**kwargs: Any) -> StrictCharField:
    """A name or a text: at least one character that is not white space."""
    return StrictCharField(min_length=1, **kwargs)


# An empty file is refused (400) like every upload.
@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class UploadField(serializers.FileField):
    """A file part of a multipart body (DRF's FileField is documented by the URL it answers)."""


# A body that names its subject one way: exactly one of the `one_of` alternatives (each a set of
# fields sent together; those this serializer has) and never all the fields of a group of
# `never_together`. The schema says so (`oneOf`, `not`). (Comments, not a docstring:
# drf-spectacular would make a docstring every such serializer's description.)
class ChoiceOfFieldsSerializer(serializers.Serializer):
    one_of: ClassVar[tuple[tuple[str, ...], ...]] = ()
    one_of_message: ClassVar[str] = ""
    never_together: ClassVar[tuple[tuple[tuple[str, ...], str], ...]] = ()

    @classmethod
    def alternatives(cls) -> list[tuple[str, ...]]:
        fields = cls._declared_fields
        return [names for names in cls.one_of if all(name in fields for name in names)]

    def validate(self, attrs: dict) -> dict:
        for names, message in self.never_together:
            if all(name in attrs for name in names):
                raise serializers.ValidationError(message)
        alternatives = self.alternatives()
        sent = [names for names in alternatives if all(name in attrs for name in names)]
        if alternatives and len(sent) != 1:
            raise serializers.ValidationError(self.one_of_message)
        return attrs


class ChoiceOfFieldsExtension(OpenApiSerializerExtension):
    target_class = ChoiceOfFieldsSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        alternatives = self.target.alternatives()
        if len(alternatives) == 1:
            schema["required"] = sorted({*schema.get("required", []), *alternatives[0]})
        elif alternatives:
            schema["oneOf"] = [{"required": list(names)} for names in alternatives]
        groups = [{"required": list(names)} for names, _ in self.target.never_together]
        if groups:
            schema["not"] = {"anyOf": groups} if len(groups) > 1 else groups[0]
        return schema


def is_form(request: Any) -> bool:
    """Whether the body came as a form (multipart), whose parts are strings and files, rather
    than as JSON."""
    return isinstance(request.data, QueryDict)


def body(request: Any) -> Any:
    """The request's body for a serializer: a form as the plain dict of its parts (the last of a
    name), so that a part sent empty is an empty value as in JSON, not DRF's "not sent"."""
    return request.data.dict() if is_form(request) else request.data
