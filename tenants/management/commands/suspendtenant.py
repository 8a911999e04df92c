from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services import tenant_status_set


class Command(BaseCommand):
    help = (
        "Suspend a tenant: its keys and users are refused (403 tenant_suspended) and its "
        "websockets closed, at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        tenant_status_set(tenant=tenant, status=Tenant.Status.SUSPENDED)
        self.stdout.write(f"Tenant {tenant.slug} is {tenant.status}.")
