"""Browser users: the signed-in home page (their tenants, the one chosen for this session, the
API and its documentation) and choosing a tenant. Signing in and out and passwords are Django's
own auth views (config/urls.py)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from tenants.context import SESSION_TENANT_KEY
from tenants.models import Membership, Tenant


def _choosable(request: HttpRequest) -> list[Tenant]:
    if request.user.is_superuser:
        return list(Tenant.objects.order_by("slug")[:200])
    return [
        membership.tenant
        for membership in Membership.objects.filter(user=request.user)  # type: ignore[misc]  # signed in
        .select_related("tenant")
        .order_by("tenant__slug")
    ]


class TenantChoiceForm(forms.Form):
    tenant = forms.SlugField(max_length=63)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = list(
        Membership.objects.filter(user=request.user)  # type: ignore[misc]  # signed in.select_related("tenant").order_by("tenant")
    )
    chosen = request.session.get(SESSION_TENANT_KEY)
    if chosen is None and len(memberships) == 1:
        chosen = memberships[0].tenant.slug
    context = {
        "memberships": memberships,
        "chosen": chosen,
        "tenants": _choosable(request),
        "title": "Kalkula",
    }
    return TemplateResponse(request, "accounts/home.html", context)


@require_POST
@login_required
def choose_tenant(request: HttpRequest) -> HttpResponse:
    """Remember the tenant this browser session acts for (the API, Swagger, the websocket)
    when a request names none."""
    form = TenantChoiceForm(request.POST)
    slugs = {tenant.slug for tenant in _choosable(request)}
    if form.is_valid() and form.cleaned_data["tenant"] in slugs:
        request.session[SESSION_TENANT_KEY] = form.cleaned_data["tenant"]
        messages.success(request, f"You now act for {form.cleaned_data['tenant']}.")
    else:
        messages.error(request, "You are not a member of that tenant.")
    return HttpResponseRedirect(reverse("home"))
