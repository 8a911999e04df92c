"""The tenant's audit policy: every threshold and rule switch with its help text (the model's),
checked before it is saved by AuditPolicy.clean (no negative tolerance, an amber band below the
red one, shares up to 1, rule names that exist), field by field."""

from django import forms
from django.contrib import admin

from audits.models import AuditPolicy
from audits.rules.types import Policy
from tenants.admin import TenantScopedAdmin


class AuditPolicyForm(forms.ModelForm):
    class Meta:
        model = AuditPolicy
        fields = ["tenant", *Policy.__dataclass_fields__]


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
        (
            "Quantity against its take-off",
            {"fields": ["takeoff_abs_tolerance", "takeoff_amber_above", "takeoff_red_above"]},
        ),
        (
            "Unit price against comparable positions",
            {
                "fields": [
                    "outlier_min_sample",
                    "outlier_amber_score",
                    "outlier_red_score",
                    "outlier_min_deviation",
                    "code_price_tolerance",
                ]
            },
        ),
        (
            "Where the money sits",
            {
                "fields": [
                    "concentration_top_count",
                    "concentration_share",
                    "lump_sum_amber_share",
                    "lump_sum_red_share",
                ]
            },
        ),
        ("Rules on and off", {"fields": ["rules"]}),
    ]
