"""Job kinds of the evidence app (registered by the jobs app's autodiscovery)."""

from botocore.exceptions import BotoCoreError, ClientError

from evidence.models import Evidence
from evidence.services import evidence_extract_text
from jobs.errors import JobInputError, JobTransientError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_kind


@job_kind("extract_evidence_text", queue="low")
def extract_evidence_text(job: Job, progress: Progress) -> dict:
    """Extract an uploaded document's text for content search (started by every upload that
    has a type we read text from)."""
    evidence = Evidence.objects.for_tenant(job.tenant).filter(pk=job.input.get("evidence")).first()
    if evidence is None:
        raise JobInputError("not_found", "The document does not exist (any more).")
    progress.update(0, 1, step=f"Extracting text from {evidence.name}")
    try:
        evidence = evidence_extract_text(evidence=evidence)
    except (BotoCoreError, ClientError) as exc:
        raise JobTransientError("storage_unavailable", "File storage did not answer.") from exc
    if evidence.text_status == Evidence.TextStatus.FAILED:
        raise JobInputError("unreadable_document", evidence.text_error)
    progress.update(1, 1, step="Text extracted")
    return {
        "evidence": str(evidence.id),
        "text_status": evidence.text_status,
        "characters": len(evidence.text),
    }
