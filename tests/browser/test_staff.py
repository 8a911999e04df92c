"""Staff work in the admin in a real browser: import a budget and watch its progress bar move
live, open a diff, waive a finding, download a document and get its exact bytes."""

import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from audits.models import Finding, Waiver
from audits.start import audit_start
from evidence.models import Evidence
from jobs.models import Job
from jobs.services import job_execute
from projects.services.imports import budget_import_start
from tenants.models import Tenant
from tests.browser.conftest import PASSWORD, off_the_loop, sign_in
from tests.factories import ProjectFactory
from tests.projects.conftest import sample

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 40_000


@pytest.fixture
def root(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)


@pytest.fixture
def big_budget(tmp_path):
    """A budget big enough that importing it takes a few seconds."""
    lines = ["Item,Code,Description,Unit,Quantity,Unit price,Total"]
    for i in range(1, ROWS + 1):
        quantity = Decimal(10 + i % 7) + Decimal("0.5")
        lines.append(
            f"{i},{131201101 + i % 500},Hloubení jam položka {i},m3,{quantity},182.00,"
            f"{quantity * 182:.2f}"
        )
    path = tmp_path / "big-budget.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def imported_twice(tenant: Tenant):
    project = ProjectFactory(tenant=tenant, name="Bytový dům Nová 12")
    for name in ("budget-v1-en.csv", "budget-v2-en.csv"):
        job = budget_import_start(
            project=project,
            actor="setup",
            file=io.BytesIO(sample(name)),
            filename=name,
            dispatch=False,
        )
        job_execute(job_id=job.id)
    project.refresh_from_db()
    return project


def test_an_import_started_in_the_admin_shows_its_progress_live(
    page, live_server_url, root, tenant, big_budget
):
    Tenant.objects.filter(pk=tenant.pk).update(plan="team")
    project = ProjectFactory(tenant=tenant, name="Big one")
    sign_in(page, live_server_url, "root", admin=True)
    page.goto(f"{live_server_url}/admin/projects/project/{project.pk}/import/")
    page.set_input_files("input[type=file]", str(big_budget))
    page.click("input[type=submit]")
    page.wait_for_selector("[data-kk-job] [data-kk-progress]")
    job = Job.objects.get(project=project, kind="import_budget")
    assert page.url.endswith(f"/admin/jobs/job/{job.pk}/change/")
    # Record what the bar shows, and mark the document: a reload would lose both.
    page.evaluate(
        """() => {
        window.__kkMarker = "still the same page";
        window.__kkSeen = [];
        const bar = document.querySelector("[data-kk-job] [data-kk-progress]");
        const state = document.querySelector("[data-kk-live-state]");
        window.__kkTimer = setInterval(() => {
            window.__kkSeen.push([bar.value, state ? state.textContent : ""]);
        }, 25);
    }"""
    )
    page.wait_for_function(
        "() => document.querySelector('[data-kk-job]').dataset.kkStatus === 'succeeded'",
        timeout=180_000,
    )
    page.wait_for_function(
        "() => document.querySelector('[data-kk-result]').textContent.includes('positions')"
    )
    seen = page.evaluate("() => window.__kkSeen")
    values = [value for value, _ in seen]
    assert page.evaluate("() => window.__kkMarker") == "still the same page"
    assert len(set(values)) >= 3, values[:: max(1, len(values) // 50)]
    assert values == sorted(values) and values[-1] == 100
    assert "live" in {state for _, state in seen}  # over the websocket, not by polling
    assert "40\u202f000" in page.inner_text("[data-kk-result]") or str(ROWS) in page.inner_text(
        "[data-kk-result]"
    )


def test_a_diff_and_a_waiver_in_the_admin(page, live_server_url, root, tenant, sample_catalog):
    def set_up():
        project = imported_twice(tenant)
        audit = audit_start(
            project=project, actor="setup", catalog=sample_catalog.pk, dispatch=False
        )
        job_execute(job_id=audit.id)
        return project

    project = off_the_loop(set_up)
    sign_in(page, live_server_url, "root", admin=True)

    page.goto(f"{live_server_url}/admin/projects/project/{project.pk}/change/")
    page.click("#versions a:has-text('diff')")
    page.wait_for_selector("#diff")
    assert "From version 1 to version 2" in page.inner_text("#diff-summary")
    page.check("#diff-form input[value=modified]")
    page.click("#diff-form button[type=submit]")
    page.wait_for_selector("#diff > tbody > tr")
    kinds = page.eval_on_selector_all("#diff > tbody > tr", "rows => rows.map(r => r.className)")
    assert kinds and set(kinds) == {"kk-diff-modified"}
    assert page.locator("#diff .kk-change-from").count() > 0

    page.goto(f"{live_server_url}/admin/projects/project/{project.pk}/findings/?status=red")
    row = page.locator("#findings > tbody > tr").first
    finding_id = row.get_attribute("id").removeprefix("finding-")
    row.locator("input[name=reason]").fill("Agreed with the client on site.")
    row.locator("button:has-text('Waive')").click()
    page.wait_for_selector("ul.messagelist li.success")
    assert "Waived" in page.inner_text("ul.messagelist")
    finding = Finding.objects.get(pk=finding_id)
    waiver = Waiver.objects.get(line_key=finding.line_key, rule=finding.rule)
    assert (waiver.reason, waiver.actor) == ("Agreed with the client on site.", "root")
    assert page.locator(f"#finding-{finding_id} [data-status=waived]").count() == 1


def test_a_document_uploaded_in_the_admin_downloads_with_its_exact_bytes(
    page, live_server_url, root, tenant, tmp_path
):
    content = b"%PDF-1.4\n% Kalkula browser test \xe2\x9c\x93\n" + bytes(range(256)) * 40
    original = tmp_path / "nabídka.pdf"
    original.write_bytes(content)
    sign_in(page, live_server_url, "root", admin=True)
    page.goto(f"{live_server_url}/admin/evidence/evidence/add/")
    page.select_option("#id_tenant", str(tenant.pk))
    page.set_input_files("#id_file", str(original))
    page.click("#upload-form input[type=submit]")
    page.wait_for_selector("#download-link")
    evidence = Evidence.objects.get(tenant=tenant)
    assert page.url.endswith(f"/admin/evidence/evidence/{evidence.pk}/change/")
    with page.expect_download() as waiting:
        page.click("#download-link")
    download = waiting.value
    assert download.suggested_filename == "nabídka.pdf"
    with open(download.path(), "rb") as saved:
        assert saved.read() == content


def test_without_the_websocket_the_job_page_polls(page, live_server_url, root, tenant):
    """The fallback: a page whose socket cannot serve it follows the job by polling."""
    page.add_init_script("window.KALKULA_FORCE_POLLING = true")
    sign_in(page, live_server_url, "root", admin=True)
    page.goto(f"{live_server_url}/admin/jobs/job/start-selftest/")
    page.select_option("#id_tenant", str(tenant.pk))
    page.fill("#id_steps", "6")
    page.fill("#id_delay", "0.3")
    page.click("input[type=submit]")
    page.wait_for_selector("[data-kk-job] [data-kk-progress]")
    page.evaluate(
        """() => {
        window.__kkStates = new Set();
        const state = document.querySelector("[data-kk-live-state]");
        setInterval(() => window.__kkStates.add(state.textContent), 25);
    }"""
    )
    page.wait_for_function(
        "() => document.querySelector('[data-kk-job]').dataset.kkStatus === 'succeeded'",
        timeout=60_000,
    )
    assert "polling" in page.evaluate("() => Array.from(window.__kkStates)")
    assert "Completed 6 steps." in page.inner_text("[data-kk-log]")
    assert page.evaluate("() => window.kalkulaSockets === undefined")
