from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from projects.models import Project
from tenants.models import ApiKey, TenantOwnedModel


class Job(TenantOwnedModel):
    """A unit of background work of one registered kind, with its lifecycle and progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Queue(models.TextChoices):
        HIGH = "high", "High"
        DEFAULT = "default", "Default"
        LOW = "low", "Low"

    FINISHED = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})
    ACTIVE = frozenset({Status.QUEUED, Status.RUNNING})

    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    queue = models.CharField(max_length=10, choices=Queue.choices, default=Queue.DEFAULT)
    input = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    result = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    error = models.JSONField(null=True, blank=True, help_text='{"code", "message", "details"}')
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Only one exclusive job (an import, an audit) per project may be queued or running.
    exclusive = models.BooleanField(default=False)
    # Who started it: a browser user, or an API key (keys have no user).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField(
        default=timezone.now, help_text="A queued job may start from then on (later after a retry)."
    )
    dispatched_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was last handed to the broker."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    last_seq = models.PositiveIntegerField(default=0, help_text="seq of the job's newest event")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=models.Q(exclusive=True, status__in=["queued", "running"]),
                name="job_one_exclusive_per_project",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class JobEvent(TenantOwnedModel):
    """One event of a job, numbered 1, 2, … without gaps, replayed to clients that reconnect."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=30)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    # When the event happened (Progress.emit), which is when it was published: it may be stored
    # later, with others (auto_now_add would stamp it with the time of that write instead).
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="job_event_unique_seq")]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.seq} {self.type}"
