"""Schemathesis fuzzes every operation of /api/v1/schema/ with a valid key, and follows the schema's
links (create a project, then read, change, import into it …) in a state machine: no 5xx, every
answer (status, content type, headers, body) as documented, every request the schema allows
accepted and every one it forbids refused. All of schemathesis' checks run.

SCHEMATHESIS_MAX_EXAMPLES (default 100) is the examples per operation, and the scenarios of the
state machine; SCHEMATHESIS_STATEFUL_STEPS (default 10) the most steps of one scenario."""

import copy
import os
import uuid

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from tests.factories import make_api_key

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "100"))
STATEFUL_STEPS = int(os.environ.get("SCHEMATHESIS_STATEFUL_STEPS", "10"))
UNLIMITED = (1_000_000, 1)
REVOKE_KEY = "DELETE /api/v1/api-keys/{id}/"

# What a schema-valid request may get without the server being wrong (schemathesis' default, and
# for an upload 415 too: the server tells a file's type by its bytes, which no schema can say).
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# The reads under /projects/{id}/, which an archived project still answers.
PROJECT_READS = [
    "comments_list",
    "positions_list",
    "projects_positions_retrieve",
    "versions_list",
    "projects_versions_retrieve",
    "findings_list",
    "waivers_list",
    "reports_list",
    "reports_verify",
    "projects_diff_retrieve",
]
# Schemathesis 4.32 marks as negative multipart bodies it then fills with a valid file (its
# sample PNG in place of the negated `file` part): the body sent is schema-valid, and a 201
# is right. Until it sends what it negates, negative_data_rejection cannot judge the uploads;
# their other checks run, and tests/api/test_bad_input.py and the upload tests refuse bad parts.
UPLOAD_NEGATIVE = {"negative_data_rejection": {"enabled": False}}
CONFIG = schemathesis.Config.from_dict(
    {
        "operations": [
            {
                "include-operation-id": ["evidence_create", "projects_imports_create"],
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "415"]},
                    **UPLOAD_NEGATIVE,
                },
            },
            {
                # DELETE is a soft delete here: an archived project and a revoked key stay
                # readable (with `deleted_at`, `revoked_at`), as the docs say; use_after_free
                # expects a 404 after it. Every other check runs on these reads.
                "include-operation-id": [
                    "api_keys_retrieve",
                    "projects_retrieve",
                    *PROJECT_READS,
                ],
                "checks": {"use_after_free": {"enabled": False}},
            },
            {
                # Schemathesis 4.32's coverage phase fails to build this operation's cases (a
                # ValueError, "Unsupported type: 'Binary'", judging a file part against the
                # body's `not`: a catalog named by id or by name, not both). Its other phases
                # (examples, fuzzing, stateful) run with every check.
                "include-operation-id": "catalogs_create",
                "phases": {"coverage": {"enabled": False}},
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "415"]},
                    **UPLOAD_NEGATIVE,
                },
            },
        ]
    }
)
# Loaded at import (schemathesis' lazy fixture loader does not run on this pytest); serving the
# schema needs no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application(), config=CONFIG)


@schema.auth(refresh_interval=None)
class FuzzerKey:
    """The key every generated request carries (schemathesis' ignored_auth check then sends it
    without one, and with a made-up one, and expects a 401). Set by the `fuzzer` fixture."""

    secret = ""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return self.secret

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Api-Key {data}"}


HYPOTHESIS = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
}


@pytest.fixture
def unlimited(settings):
    # Fuzzing is a burst no plan allows; the limiter still runs on every call.
    settings.RATE_LIMITS = {
        plan: dict.fromkeys(buckets, UNLIMITED)
        for plan, buckets in copy.deepcopy(settings.RATE_LIMITS).items()
    }


@pytest.fixture
def prepare(owner, unlimited, monkeypatch):
    """Fuzz with an owner's key; the function readies a case to be sent."""
    monkeypatch.setattr(FuzzerKey, "secret", owner.secret)
    spare, _ = make_api_key(tenant=owner.tenant, role="member", name="spare key")

    def prepare(case: schemathesis.Case) -> None:
        # The one exclusion: no revoking the key the fuzzer authenticates with (every later
        # request would be a 401, which proves nothing). A request to revoke it revokes the
        # spare key instead; revoking any other key is fuzzed as it comes.
        path = case.path_parameters or {}
        if case.operation.label == REVOKE_KEY and str(path.get("id")) == str(owner.api_key.id):
            case.path_parameters["id"] = str(spare.id)
        # A form has no null: schemathesis' WSGI transport (werkzeug) drops a None part, so the
        # server would judge a request other than the case. It goes as the text `null`, as
        # schemathesis sends every other JSON value in a form.
        if case.media_type == "multipart/form-data" and isinstance(case.body, dict):
            case.body = {k: "null" if v is None else v for k, v in case.body.items()}
        # Generated keys repeat across examples with other bodies, rightly a 422; a fresh key per
        # example lets the endpoint behind it be fuzzed (tests/tenants/test_idempotency.py does
        # keys).
        if case.headers and "Idempotency-Key" in case.headers:
            case.headers["Idempotency-Key"] = uuid.uuid4().hex

    return prepare


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, **HYPOTHESIS)
def test_the_api_keeps_to_its_schema(case, transactional_db, prepare):
    prepare(case)
    case.call_and_validate()


def test_linked_operations_keep_to_the_schema(transactional_db, prepare):
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            prepare(case)

    Workflow.run(
        settings=settings(
            max_examples=MAX_EXAMPLES, stateful_step_count=STATEFUL_STEPS, **HYPOTHESIS
        )
    )
