"""Factories for every model; `TENANT_OWNED_FACTORIES` must cover every tenant-owned model."""

import io
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from audits.models import AuditPolicy, AuditReport, Finding, Recommendation, Waiver
from catalogs.models import Alert, CatalogEdition, CatalogItem, PriceCatalog
from evidence.models import Attachment, Evidence, EvidenceDownload
from evidence.services import evidence_store_file
from jobs.models import Job, JobEvent
from projects.models import BudgetVersion, Comment, Position, Project
from tenants.models import (
    ApiKey,
    IdempotencyKey,
    Membership,
    RequestLog,
    Role,
    Tenant,
    UsageCounter,
)
from tenants.services import api_key_create, current_month


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Faker("company")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-only")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


def make_api_key(
    *, tenant: Tenant, role: str = Role.MEMBER, name: str = "test"
) -> tuple[ApiKey, str]:
    issued = api_key_create(tenant=tenant, name=name, role=role)
    return issued.api_key, issued.secret


class ApiKeyFactory(factory.Factory):
    """Builds through the service so the hash and prefix are real."""

    class Meta:
        model = ApiKey

    tenant = factory.SubFactory(TenantFactory)
    role = Role.MEMBER

    @classmethod
    def _create(cls, model_class, *, tenant, role, **kwargs):
        return make_api_key(tenant=tenant, role=role)[0]


class UsageCounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageCounter

    tenant = factory.SubFactory(TenantFactory)
    month = factory.LazyFunction(current_month)
    metric = UsageCounter.Metric.JOBS_STARTED
    value = 3


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Project {n}")


class EvidenceFactory(factory.Factory):
    """Stores real bytes through the service, so the row has its object in storage."""

    class Meta:
        model = Evidence

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"document-{n}.txt")
    content = factory.Sequence(lambda n: f"Evidence document number {n}.\n".encode())
    kind = Evidence.Kind.OTHER
    project = None

    @classmethod
    def _create(cls, model_class, *, tenant, name, content, kind, project):
        return evidence_store_file(
            tenant=tenant, fileobj=io.BytesIO(content), name=name, kind=kind, project=project
        ).evidence


class EvidenceDownloadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvidenceDownload

    tenant = factory.SubFactory(TenantFactory)
    evidence = factory.SubFactory(EvidenceFactory, tenant=factory.SelfAttribute("..tenant"))


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    tenant = factory.SubFactory(TenantFactory)
    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    kind = "selftest"
    input = factory.LazyFunction(lambda: {"steps": 2, "delay": 0})


class JobEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobEvent

    tenant = factory.SubFactory(TenantFactory)
    job = factory.SubFactory(JobFactory, tenant=factory.SelfAttribute("..tenant"))
    seq = factory.Sequence(lambda n: n + 1)
    type = "job.log"
    payload = factory.LazyFunction(lambda: {"message": "hello"})


class IdempotencyKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IdempotencyKey

    tenant = factory.SubFactory(TenantFactory)
    key = factory.Sequence(lambda n: f"key-{n}")
    request_hash = "0" * 64
    status_code = 201
    response_body = factory.LazyFunction(dict)


class RequestLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RequestLog

    tenant = factory.SubFactory(TenantFactory)
    method = "GET"
    path = "/api/v1/me"
    status_code = 200
    duration_ms = Decimal("1.250")
    request_id = factory.Sequence(lambda n: f"request-{n:08d}")
    ip = "127.0.0.1"
    user_agent = "tests"


class BudgetVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BudgetVersion

    tenant = factory.SubFactory(TenantFactory)
    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    number = 1
    trigger = BudgetVersion.Trigger.IMPORT


class PositionFactory(factory.django.DjangoModelFactory):
    """A current row of version 1; real budgets come from imports."""

    class Meta:
        model = Position

    tenant = factory.SubFactory(TenantFactory)
    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    valid_from = 1
    ordinal = factory.Sequence(lambda n: n + 1)
    position_number = factory.Sequence(lambda n: str(n + 1))
    line_key = factory.SelfAttribute("position_number")
    code = "131201101"
    description = "Hloubení jam zapažených v hornině tř. 3"
    unit = "m3"
    quantity = Decimal("10")
    unit_price = Decimal("182.00")
    total_price = Decimal("1820.00")
    fingerprint = "0" * 32


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    tenant = factory.SubFactory(TenantFactory)
    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    body = "Check the excavation quantities."


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attachment

    tenant = factory.SubFactory(TenantFactory)
    evidence = factory.SubFactory(EvidenceFactory, tenant=factory.SelfAttribute("..tenant"))
    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    line_key = "1"


class PriceCatalogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceCatalog

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Catalog {n}")
    version = 1
    item_count = 1


class CatalogEditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogEdition

    tenant = factory.SubFactory(TenantFactory)
    catalog = factory.SubFactory(PriceCatalogFactory, tenant=factory.SelfAttribute("..tenant"))
    number = factory.Sequence(lambda n: n + 2)  # the catalog's own edition 1 comes with its items
    name = factory.Sequence(lambda n: f"ÚRS {2000 + n} 01")


def _newest_edition(item) -> CatalogEdition:
    """The item's catalog's newest edition (numbered as its version), made when missing."""
    catalog = item.catalog
    number = max(catalog.version, 1)
    return CatalogEdition.objects.get_or_create(
        catalog=catalog,
        number=number,
        defaults={"tenant": catalog.tenant, "name": f"{catalog.name} v{number}"},
    )[0]


class CatalogItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogItem

    tenant = factory.SubFactory(TenantFactory)
    catalog = factory.SubFactory(PriceCatalogFactory, tenant=factory.SelfAttribute("..tenant"))
    edition = factory.LazyAttribute(_newest_edition)
    code = factory.Sequence(lambda n: f"{131201101 + n}")
    description = "Hloubení jam nezapažených v hornině tř. 3"
    unit = "m3"
    unit_price = Decimal("182.00")
    changed_in_version = 1


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    tenant = factory.SubFactory(TenantFactory)
    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    catalog = factory.SubFactory(PriceCatalogFactory, tenant=factory.SelfAttribute("..tenant"))
    catalog_version = 2
    kind = Alert.Kind.PRICE
    line_key = "1"
    position_number = "1"
    code = "131201101"
    message = "Catalog changed item 131201101: reference unit price 182.00 → 195.00 CZK."


class AuditPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditPolicy

    tenant = factory.SubFactory(TenantFactory)


class AuditReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditReport

    tenant = factory.SubFactory(TenantFactory)
    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    version = factory.SubFactory(
        BudgetVersionFactory,
        tenant=factory.SelfAttribute("..tenant"),
        project=factory.SelfAttribute("..project"),
    )
    number = 1
    sha256 = "0" * 64
    document = factory.SubFactory(
        EvidenceFactory, tenant=factory.SelfAttribute("..tenant"), kind=Evidence.Kind.REPORT
    )


class FindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Finding

    tenant = factory.SubFactory(TenantFactory)
    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    version = factory.SubFactory(
        BudgetVersionFactory,
        tenant=factory.SelfAttribute("..tenant"),
        project=factory.SelfAttribute("..project"),
    )
    position = factory.SubFactory(
        PositionFactory,
        tenant=factory.SelfAttribute("..tenant"),
        project=factory.SelfAttribute("..project"),
    )
    line_key = factory.SelfAttribute("position.line_key")
    rule = "cost.deviation"
    role = "cost"
    recommendation = Recommendation.AMBER
    confidence = Decimal("0.9")
    reasoning = "Unit price 12 % above the catalog price."


class WaiverFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Waiver

    tenant = factory.SubFactory(TenantFactory)
    project = factory.SubFactory(ProjectFactory, tenant=factory.SelfAttribute("..tenant"))
    version = factory.SubFactory(
        BudgetVersionFactory,
        tenant=factory.SelfAttribute("..tenant"),
        project=factory.SelfAttribute("..project"),
    )
    line_key = "1"
    rule = "cost.deviation"
    finding_reasoning = "Unit price 12 % above the catalog price."
    reason = "Agreed with the client."


TENANT_OWNED_FACTORIES = {
    Project: ProjectFactory,
    BudgetVersion: BudgetVersionFactory,
    Position: PositionFactory,
    Comment: CommentFactory,
    Job: JobFactory,
    JobEvent: JobEventFactory,
    Membership: MembershipFactory,
    ApiKey: ApiKeyFactory,
    UsageCounter: UsageCounterFactory,
    IdempotencyKey: IdempotencyKeyFactory,
    RequestLog: RequestLogFactory,
    Evidence: EvidenceFactory,
    EvidenceDownload: EvidenceDownloadFactory,
    Attachment: AttachmentFactory,
    PriceCatalog: PriceCatalogFactory,
    CatalogEdition: CatalogEditionFactory,
    CatalogItem: CatalogItemFactory,
    Alert: AlertFactory,
    AuditPolicy: AuditPolicyFactory,
    AuditReport: AuditReportFactory,
    Finding: FindingFactory,
    Waiver: WaiverFactory,
}
