from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.services import evidence_verify_all
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Re-hash every stored evidence object (streamed) and report the missing or corrupt ones. "
        "Exits with status 1 when there is any."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", metavar="SLUG", help="Only this tenant's evidence.")

    def handle(self, *args, tenant: str | None = None, **options) -> None:
        scope = None
        if tenant is not None:
            scope = Tenant.objects.filter(slug=tenant).first()
            if scope is None:
                raise CommandError(f"No tenant {tenant!r}.")
        checked = 0
        problems = 0
        for result in evidence_verify_all(tenant=scope):
            checked += 1
            if not result.ok:
                problems += 1
                self.stdout.write(
                    f"{result.status.upper()} evidence {result.evidence_id} "
                    f"(tenant {result.tenant_id}) {result.key}: {result.detail}"
                )
        summary = f"{checked} checked, {checked - problems} intact, {problems} missing or corrupt."
        if problems:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
