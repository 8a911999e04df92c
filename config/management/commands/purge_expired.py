from django.core.management.base import BaseCommand

from config.retention import purge_expired


class Command(BaseCommand):
    help = "Delete what is past its retention period (request log, idempotency keys, ...)."

    def handle(self, *args, **options):
        for kind, count in purge_expired().items():
            self.stdout.write(f"{kind}: {count} purged")
