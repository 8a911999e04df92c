from django.core.management.base import BaseCommand, CommandError

from core.errors import ApiError
from tenants.invitations import member_invite
from tenants.models import Role, Tenant


class Command(BaseCommand):
    help = (
        "Invite someone by e-mail to a tenant (the same invitation the API and the admin send): a "
        "new user gets a link to choose a password, an existing one a link to sign in. Prints "
        "the link on the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("email")
        parser.add_argument("--role", choices=Role.values, default=Role.MEMBER)

    def handle(self, *args, tenant: str, email: str, role: str, **options):
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant {tenant!r}.")
        try:
            invitation = member_invite(tenant=tenant_obj, email=email, role=role)
        except ApiError as exc:
            raise CommandError(str(exc.detail)) from None
        what = "New account" if invitation.new_account else "Existing account"
        self.stdout.write(f"{what} {email} invited to {tenant_obj.slug} as {role}; e-mail sent.")
        self.stdout.write(invitation.link)
