"""Template filters for staff pages: `{{ value|money:currency }}`, `{{ value|quantity }}`,
`{{ value|count }}`, `{{ status|badge }}`, `{{ data|json_table }}` (core.display)."""

from typing import Any

from django import template

from core import display

register = template.Library()


@register.filter
def money(value: Any, currency: str = "") -> str:
    return display.money(value, currency)


@register.filter
def signed_money(value: Any, currency: str = "") -> str:
    return display.signed_money(value, currency)


@register.filter
def quantity(value: Any) -> str:
    return display.quantity(value)


@register.filter
def count(value: Any) -> str:
    return display.count(value)


@register.filter
def badge(value: Any) -> str:
    return display.badge(value)


@register.filter
def json_table(value: Any) -> str:
    return display.json_table(value)


@register.filter
def badge_class(value: Any) -> str:
    return display.badge_class(value)
