"""How numbers, statuses and JSON read on staff pages: money with thousands separators and its
currency, quantities without trailing zeros, statuses as coloured badges, JSON as tables. Plain
functions returning safe HTML, used by the admin's columns and the `kalkula` template filters."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

THIN_SPACE = "\u202f"  # narrow no-break space: groups digits without breaking the line
EMPTY = "–"

# Status words and the colour class of their badge (kalkula.css).
BADGE_TONES = {
    # jobs
    "queued": "neutral",
    "running": "info",
    "succeeded": "good",
    "failed": "bad",
    "cancelled": "muted",
    # projects
    "draft": "neutral",
    "importing": "info",
    "auditing": "info",
    "ready": "good",
    "archived": "muted",
    # audits and positions
    "unaudited": "neutral",
    "green": "good",
    "amber": "warn",
    "red": "bad",
    # tenants, keys, alerts, evidence text
    "active": "good",
    "suspended": "bad",
    "revoked": "muted",
    "open": "warn",
    "acknowledged": "muted",
    "waived": "muted",
    "withdrawn": "muted",
    "pending": "info",
    "extracted": "good",
    "not_applicable": "muted",
    "ok": "good",
    "missing": "bad",
    "corrupt": "bad",
}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def grouped(value: Decimal, places: int | None) -> str:
    """`value` with thin spaces between thousands; `places` decimals (None: as few as exact)."""
    if places is None:
        text = f"{value:f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{value:.{places}f}"
    sign = "−" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + THIN_SPACE.join(groups) + (f".{fraction}" if fraction else "")


def money(value: Any, currency: str = "") -> SafeString:
    """197765768.26 CZK → `197 765 768.26 CZK`, right-aligned."""
    number = _decimal(value)
    if number is None:
        return format_html('<span class="kk-num kk-empty">{}</span>', EMPTY)
    text = grouped(number, 2)
    if currency:
        text = f"{text}{THIN_SPACE}{currency}"
    tone = " kk-negative" if number < 0 else ""
    return format_html('<span class="kk-num{}">{}</span>', tone, text)


def signed_money(value: Any, currency: str = "") -> SafeString:
    """A change of money: `+1 200.00 CZK` or `−300.00 CZK`."""
    number = _decimal(value)
    if number is None or number <= 0:
        return money(value, currency)
    text = f"+{grouped(number, 2)}" + (f"{THIN_SPACE}{currency}" if currency else "")
    return format_html('<span class="kk-num kk-positive">{}</span>', text)


def quantity(value: Any) -> SafeString:
    """373.500000 → `373.5`; 1200 → `1 200`, right-aligned."""
    number = _decimal(value)
    if number is None:
        return format_html('<span class="kk-num kk-empty">{}</span>', EMPTY)
    return format_html('<span class="kk-num">{}</span>', grouped(number, None))


def count(value: Any) -> SafeString:
    number = _decimal(value)
    if number is None:
        return format_html('<span class="kk-num kk-empty">{}</span>', EMPTY)
    return format_html('<span class="kk-num">{}</span>', grouped(number, 0))


def badge_class(status: Any) -> str:
    return f"kk-badge kk-{BADGE_TONES.get(str(status), 'neutral')}"


def badge(status: Any, label: str | None = None) -> SafeString:
    """A status word as a coloured badge."""
    if status is None or status == "":
        return format_html('<span class="kk-empty">{}</span>', EMPTY)
    key = str(status)
    tone = BADGE_TONES.get(key, "neutral")
    shown = label if label is not None else key.replace("_", " ")
    return format_html('<span class="kk-badge kk-{}" data-status="{}">{}</span>', tone, key, shown)


def json_table(data: Any, *, depth: int = 0) -> SafeString:
    """JSON as nested tables: objects as key/value rows, lists of objects as tables with a column
    per key, lists of scalars as comma-separated text."""
    if depth > 4:
        return format_html("<code>{}</code>", str(data)[:500])
    if isinstance(data, dict):
        if not data:
            return format_html('<span class="kk-empty">{}</span>', EMPTY)
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            (
                (str(key).replace("_", " "), json_table(value, depth=depth + 1))
                for key, value in data.items()
            ),
        )
        return format_html('<table class="kk-json">{}</table>', rows)
    if isinstance(data, list):
        if not data:
            return format_html('<span class="kk-empty">{}</span>', EMPTY)
        if all(isinstance(item, dict) for item in data):
            columns = list(dict.fromkeys(key for item in data for key in item))
            head = format_html_join(
                "", "<th>{}</th>", ((str(c).replace("_", " "),) for c in columns)
            )
            body = format_html_join(
                "",
                "<tr>{}</tr>",
                (
                    (
                        format_html_join(
                            "",
                            "<td>{}</td>",
                            ((json_table(item.get(c), depth=depth + 1),) for c in columns),
                        ),
                    )
                    for item in data
                ),
            )
            return format_html(
                '<table class="kk-json kk-json-list"><thead><tr>{}</tr></thead>'
                "<tbody>{}</tbody></table>",
                head,
                body,
            )
        return format_html_join(", ", "{}", ((json_table(item, depth=depth + 1),) for item in data))
    if data is None:
        return format_html('<span class="kk-empty">{}</span>', EMPTY)
    if isinstance(data, bool):
        return mark_safe("yes" if data else "no")  # noqa: S308 - constant text
    return format_html("{}", data)
