"""Strict environment parsing: a bad value stops start-up with a message naming the variable."""

import os
from pathlib import Path
from typing import overload
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    """The variable's value, or the contents of the file named by NAME_FILE (for secrets)."""
    value = os.environ.get(name)
    file_name = os.environ.get(f"{name}_FILE")
    if value is not None and file_name is not None:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if file_name is not None:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name!r}: {exc}") from exc
    if value is not None and value.strip() == "":
        return None
    return value


@overload
def env_str(name: str, default: str) -> str: ...
@overload
def env_str(name: str, default: None = None) -> str | None: ...
def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected true or false, got {value!r}.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, *, schemes: set[str]) -> str | None:
    """A URL whose scheme is one of `schemes`, or None when unset."""
    value = _raw(name)
    if value is None:
        return None
    scheme = urlsplit(value).scheme
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ImproperlyConfigured(f"{name}: scheme must be one of {allowed}; got {value!r}.")
    return value


def database_from_url(name: str, url: str) -> dict:
    """Django DATABASES entry from postgres://user:pass@host:port/db?opt=v or sqlite:///path."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # As with dj-database-url: sqlite:///relative/path, sqlite:////absolute/path
        path = unquote(parts.path)[1:]
        if not path:
            raise ImproperlyConfigured(
                f"{name}: a sqlite URL needs a path, e.g. sqlite:///var/db.sqlite3"
            )
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    if not parts.path.strip("/"):
        raise ImproperlyConfigured(
            f"{name}: the URL names no database, e.g. postgres://host:5432/kalkula"
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}: the port is not a number in {url!r}.") from None
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return {
        "ENGINE": "core.postgresql",  # Django's, with a health check without a round trip
        "NAME": unquote(parts.path.strip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(port or ""),
        "OPTIONS": options,
    }


def env_rate(name: str, default: str) -> tuple[int, int]:
    """A rate `<requests>/<seconds>`, e.g. `600/60`, as (requests, seconds), both at least 1."""
    value = _raw(name) or default
    requests_text, slash, seconds_text = value.partition("/")
    try:
        requests, seconds = int(requests_text), int(seconds_text)
    except ValueError:
        requests = seconds = 0
    if not slash or requests < 1 or seconds < 1:
        raise ImproperlyConfigured(
            f"{name}: expected <requests>/<seconds> with both at least 1, e.g. 600/60; "
            f"got {value!r}."
        )
    return requests, seconds
