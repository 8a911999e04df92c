import io

import pytest
from django.core.management import CommandError, call_command

from jobs.models import Job
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_job(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("run_job", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_run_job_runs_any_kind_inline_with_a_progress_bar(tenant):
    project = ProjectFactory(tenant=tenant)
    out, err = run_job(
        "selftest",
        "--tenant",
        "acme",
        "--project",
        str(project.id),
        "--input",
        '{"steps": 4, "delay": 0}',
    )
    job = Job.objects.get()
    assert (job.status, job.project, job.attempts) == ("succeeded", project, 1)
    assert "info: Completed 4 steps." in out
    assert out.strip().endswith(f'Job {job.id} succeeded: {{"steps": 4}}')
    assert "[##############################] 100% step 4 of 4" in err
    assert "[#######.......................]  25% step 1 of 4" in err


def test_run_job_waits_out_transient_errors(tenant, settings):
    settings.JOBS_RETRY_BACKOFF_SECONDS = 1
    settings.JOBS_RETRY_BACKOFF_MAX_SECONDS = 1
    out, _ = run_job("test_flaky", "--tenant", "acme", "--input", '{"succeed_at": 2}')
    assert "warning: Temporary problem, retrying in" in out
    assert Job.objects.get().attempts == 2


def test_a_failed_job_is_a_command_error(tenant):
    with pytest.raises(CommandError, match=r"failed\. Failed at step 1 as asked\."):
        run_job("selftest", "--tenant", "acme", "--input", '{"fail_at": 1, "delay": 0}')
    assert Job.objects.get().status == "failed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--tenant", "acme"], "Unknown job kind 'nope'"),
        (["selftest", "--tenant", "nobody"], "No tenant 'nobody'."),
        (["selftest", "--tenant", "acme", "--project", "x"], "No project 'x' in acme."),
        (["selftest", "--tenant", "acme", "--input", "{"], "--input: not valid JSON."),
        (["selftest", "--tenant", "acme", "--input", '{"steps": 0}'], "--input: steps: Ensure"),
    ],
)
def test_bad_arguments_are_command_errors(tenant, args, message):
    with pytest.raises(CommandError, match=message.replace(".", r"\.").replace("(", r"\(")):
        run_job(*args)
    assert not Job.objects.exists()


def test_another_tenants_project_is_not_found(tenant, other_tenant):
    theirs = ProjectFactory(tenant=other_tenant)
    with pytest.raises(CommandError, match="No project"):
        run_job("selftest", "--tenant", "acme", "--project", str(theirs.id))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_redrawn_in_place(tenant):
    # A command's stderr (an OutputWrapper) ends each write with a newline unless told not to:
    # the bar's redraws must stay on one line, with one newline after the last.
    err = Terminal()
    call_command(
        "run_job",
        "selftest",
        "--tenant",
        "acme",
        "--input",
        '{"steps": 4, "delay": 0}',
        stdout=io.StringIO(),
        stderr=err,
        no_color=True,
    )
    bar, after = err.getvalue().split("\n", 1)
    assert after == ""
    assert bar.startswith("\r[#######.......................]  25% step 1 of 4")
    assert bar.endswith("\r[##############################] 100% step 4 of 4")
