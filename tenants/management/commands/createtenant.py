from django.core.management.base import BaseCommand, CommandError

from core.errors import ApiError
from tenants.models import Plan
from tenants.services import tenant_create, user_get_or_create


class Command(BaseCommand):
    help = "Create a tenant, optionally with an owner (created if missing)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--plan", choices=Plan.values, default=Plan.FREE)
        parser.add_argument("--owner-email")

    def handle(self, *args, slug, name, plan, owner_email, **options):
        owner = user_get_or_create(email=owner_email) if owner_email else None
        try:
            tenant = tenant_create(slug=slug, name=name, plan=plan, owner=owner)
        except ApiError as exc:
            raise CommandError(str(exc.detail)) from exc
        self.stdout.write(f"Created tenant {tenant.slug} ({tenant.id}) on plan {tenant.plan}.")
