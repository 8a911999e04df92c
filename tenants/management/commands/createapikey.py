from django.core.management.base import BaseCommand, CommandError

from tenants.models import Role, Tenant
from tenants.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key; the key is printed alone on the last line, and never again."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="tenant slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--role", choices=Role.values, default=Role.MEMBER)

    def handle(self, *args, tenant, name, role, **options):
        try:
            tenant_obj = Tenant.objects.get(slug=tenant)
        except Tenant.DoesNotExist:
            raise CommandError(f"No tenant {tenant!r}.") from None
        issued = api_key_create(tenant=tenant_obj, name=name, role=role)
        self.stdout.write(f"Created {role} key {issued.api_key.prefix} for {tenant_obj.slug}:")
        self.stdout.write(issued.secret)
