"""The last line against a job that swells a worker: a memory ceiling per prefork child."""

from tests.config.test_settings import manage_check


def test_workers_have_a_memory_ceiling_per_child(settings):
    from config.celery import app

    assert settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD == settings.JOBS_WORKER_MAX_MEMORY_MB * 1024
    assert app.conf.worker_max_memory_per_child == settings.CELERY_WORKER_MAX_MEMORY_PER_CHILD


def test_the_ceiling_and_the_archive_limits_parse_strictly(tmp_path):
    for variable in ("JOBS_WORKER_MAX_MEMORY_MB", "ARCHIVE_MAX_RATIO", "SPREADSHEET_MAX_CELLS"):
        result = manage_check(tmp_path, **{variable: "lots"})
        assert result.returncode != 0
        assert f"{variable}: expected a whole number" in result.stderr
