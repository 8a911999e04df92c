"""The tenant's audit policy: thresholds checked before they are saved (no negative tolerance, an
amber band below the red one), each field saying what it does."""

from typing import Any

from django import forms
from django.contrib import admin

from audits.models import AuditPolicy
from audits.rules.types import Policy
from tenants.admin import TenantScopedAdmin

HELP_TEXTS = {
    "arithmetic_abs_tolerance": "How far quantity × unit price may be from the total, in the "
    "budget's currency, before the arithmetic check fails (0.01: a rounding cent). 0 or more.",
    "arithmetic_rel_tolerance": "The same as a share of the total (0.005 = 0.5 %); the larger "
    "of the two tolerances applies. Between 0 and 1.",
    "cost_amber_above": "A unit price this share above the catalog's turns amber "
    "(0.10 = 10 % dearer). 0 or more, below the red threshold.",
    "cost_red_above": "A unit price this share above the catalog's turns red (0.25 = 25 % "
    "dearer). Above the amber threshold.",
    "cost_amber_below": "A unit price this share below the catalog's turns amber: suspiciously "
    "cheap (−0.10 = 10 % cheaper). Between −1 and 0.",
}


class AuditPolicyForm(forms.ModelForm):
    class Meta:
        model = AuditPolicy
        fields = ["tenant", *HELP_TEXTS]
        help_texts = HELP_TEXTS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        values: dict[str, Any] = {name: data.get(name) for name in HELP_TEXTS}
        if all(value is not None for value in values.values()):
            for name, problem in Policy(**values).problems().items():
                self.add_error(name, problem)
        return data


@admin.register(AuditPolicy)
class AuditPolicyAdmin(TenantScopedAdmin):
    form = AuditPolicyForm
    list_display = [
        "tenant",
        "arithmetic_abs_tolerance",
        "arithmetic_rel_tolerance",
        "cost_amber_above",
        "cost_red_above",
        "cost_amber_below",
        "updated_at",
    ]
    list_select_related = ["tenant"]
    search_fields = ["tenant__slug"]
    fieldsets = [
        (None, {"fields": ["tenant"]}),
        ("Arithmetic check", {"fields": ["arithmetic_abs_tolerance", "arithmetic_rel_tolerance"]}),
        (
            "Unit price against the catalog",
            {"fields": ["cost_amber_above", "cost_red_above", "cost_amber_below"]},
        ),
    ]
