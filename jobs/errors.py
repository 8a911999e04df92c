"""How a handler says why it stopped; anything else it raises is a bug (the job fails)."""


class JobError(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


class JobInputError(JobError):
    """The input is wrong (a malformed file, a missing column): fail at once, never retry."""


class JobTransientError(JobError):
    """Something outside may recover (a storage timeout): retry with backoff."""


class JobCancelled(Exception):
    """Raised by `progress.check_cancelled()` when someone asked to cancel the job."""


class JobLost(JobCancelled):
    """This run no longer owns the job: the sweep took it back (its heartbeat went stale) and
    another attempt may be running. The run stops and records nothing; being a JobCancelled,
    handlers that clean up on cancellation do so here too."""
