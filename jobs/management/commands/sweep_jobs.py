from django.core.management.base import BaseCommand

from jobs.services import job_sweep


class Command(BaseCommand):
    help = (
        "Take back jobs whose worker stopped responding and dispatch again jobs the broker lost "
        "(what beat runs every JOBS_SWEEP_INTERVAL_SECONDS)."
    )

    def handle(self, *args, **options):
        report = job_sweep()
        self.stdout.write(
            f"Dispatched again {len(report.redispatched)} queued jobs; took back "
            f"{len(report.requeued)} (queued again), failed {len(report.failed)}, "
            f"cancelled {len(report.cancelled)}."
        )
