from django.core.management.base import BaseCommand, CommandError

from tenants.models import ApiKey
from tenants.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its public prefix (effective on the next request)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        try:
            api_key = ApiKey.objects.select_related("tenant").get(prefix=prefix)
        except ApiKey.DoesNotExist:
            raise CommandError(f"No API key with prefix {prefix!r}.") from None
        api_key_revoke(api_key=api_key)
        self.stdout.write(f"Revoked {api_key.prefix} ({api_key.name}) of {api_key.tenant.slug}.")
