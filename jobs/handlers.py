"""Built-in job kinds."""

import time

from rest_framework import serializers

from core.fields import StrictFloatField, StrictIntegerField
from jobs.errors import JobInputError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_input, job_kind


class SelftestInput(serializers.Serializer):
    steps = StrictIntegerField(min_value=1, max_value=1000, default=5)
    delay = StrictFloatField(min_value=0, max_value=10, default=0.1)
    fail_at = StrictIntegerField(min_value=1, required=False, allow_null=True, default=None)


@job_kind("selftest", queue="high", direct=True, input_serializer=SelftestInput)
def selftest(job: Job, progress: Progress) -> dict:
    """A diagnostic: `steps` steps of `delay` seconds each, failing at step `fail_at` if given."""
    options = job_input(job, SelftestInput, what="selftest")
    steps, delay, fail_at = (options[k] for k in ("steps", "delay", "fail_at"))
    for step in range(1, steps + 1):
        if step > 1:  # before the first, the runner has just checked
            progress.check_cancelled(interval=0)
        if step == fail_at:
            raise JobInputError("selftest_failure", f"Failed at step {step} as asked.")
        time.sleep(delay)
        progress.update(step, steps, step=f"step {step} of {steps}")
    progress.log(f"Completed {steps} steps.")
    return {"steps": steps}
