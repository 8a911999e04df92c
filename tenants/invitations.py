"""Inviting a member by e-mail: the one service the API, the admin and `manage.py invite_member`
share. A new user gets an account without a password and a link that lets them set one (Django's
password-reset token, valid PASSWORD_RESET_TIMEOUT); an existing user gets the membership and a
link to sign in. The e-mail goes out once the membership is committed."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from core.errors import ApiError
from tenants.models import Membership, Role, Tenant

# A new user's name is their address: at most as long as a user name may be.
MAX_EMAIL_LENGTH = 150


@dataclass(frozen=True)
class Invitation:
    membership: Membership
    # Where the e-mail sends them: set a password (new account) or sign in.
    link: str
    new_account: bool


def password_set_link(*, user: User, site_url: str) -> str:
    """A link to Django's password reset confirmation page for `user`, valid for
    PASSWORD_RESET_TIMEOUT: how an invited member chooses a password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return site_url.rstrip("/") + path


def member_invite(
    *,
    tenant: Tenant,
    email: str,
    role: str = Role.MEMBER,
    inviter_role: str = Role.OWNER,
    invited_by: User | None = None,
    site_url: str | None = None,
) -> Invitation:
    """Make `email` a member of `tenant` with `role` (no higher than `inviter_role`) and e-mail
    them the link in. Inviting again sends a new link (and may change the role, never one above
    the inviter's)."""
    email = email.strip()
    try:
        validate_email(email)
        if len(email) > MAX_EMAIL_LENGTH:
            raise ValidationError("too long")
    except ValidationError:
        raise ApiError(
            code="invalid", message="email: not an e-mail address.", details={"email": ["invalid"]}
        ) from None
    if role not in Role.values:
        raise ApiError(code="invalid_role", message=f"Unknown role {role!r}; one of {Role.values}.")
    if not Role.at_least(inviter_role, role):
        raise ApiError(
            code="forbidden", message="You cannot give a role above your own.", status_code=403
        )
    site_url = site_url or settings.KALKULA_SITE_URL
    user_model = get_user_model()
    with transaction.atomic():
        user = (
            user_model.objects.select_for_update()
            .filter(Q(username__iexact=email) | Q(email__iexact=email))
            .order_by("pk")
            .first()
        )
        new_account = user is None
        if user is None:
            user = user_model(username=email, email=email)
            user.set_unusable_password()
            user.save()
        membership = Membership.objects.filter(tenant=tenant, user=user).first()
        if membership is not None and not Role.at_least(inviter_role, membership.role):
            raise ApiError(
                code="forbidden",
                message="You cannot change the role of a member above your own.",
                status_code=403,
            )
        if membership is None:
            membership = Membership.objects.create(tenant=tenant, user=user, role=role)
        elif membership.role != role:
            membership.role = role
            membership.save(update_fields=["role"])
        if user.has_usable_password():
            link = site_url.rstrip("/") + reverse("login")
        else:
            link = password_set_link(user=user, site_url=site_url)
        inviter = invited_by.get_username() if invited_by is not None else "Kalkula"
        # robust: a mail server that fails is logged; the membership stands, and inviting
        # again sends a new link.
        transaction.on_commit(
            lambda: _send(email=email, tenant=tenant, role=role, link=link, inviter=inviter),
            robust=True,
        )
    return Invitation(membership=membership, link=link, new_account=new_account)


def _send(*, email: str, tenant: Tenant, role: str, link: str, inviter: str) -> None:
    action = "sign in" if link.endswith(reverse("login")) else "choose your password"
    send_mail(
        subject=f"You are invited to {tenant.name} on Kalkula",
        message=(
            f"{inviter} invited you to {tenant.name} ({tenant.slug}) on Kalkula as {role}.\n\n"
            f"To {action}, open:\n{link}\n\n"
            "Then use Kalkula in your browser, its API documentation at /api/docs/ and its "
            "REST API with your session.\n"
        ),
        from_email=None,
        recipient_list=[email],
    )
