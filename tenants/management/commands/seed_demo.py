import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from tenants.models import ApiKey, Plan, Role, Tenant
from tenants.services import api_key_create, hash_key, membership_set

DEMO_SLUG = "demo"
ADMIN_USERNAME = "admin"


class Command(BaseCommand):
    help = (
        "Create the demo tenant, an admin login and a demo API key (idempotent). The credentials "
        "are kept in var/demo-credentials.json so a rerun prints the same ones."
    )

    def handle(self, *args, **options):
        path = settings.VAR_DIR / "demo-credentials.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        with transaction.atomic():
            tenant, _ = Tenant.objects.get_or_create(
                slug=DEMO_SLUG, defaults={"name": "Demo Construction", "plan": Plan.TEAM}
            )
            password = saved.get("admin_password") or secrets.token_urlsafe(12)
            user_model = get_user_model()
            admin, _ = user_model.objects.get_or_create(
                username=ADMIN_USERNAME, defaults={"email": "admin@example.com"}
            )
            if not admin.check_password(password) or not admin.is_superuser:
                admin.set_password(password)
                admin.is_staff = admin.is_superuser = True
                admin.save()
            membership_set(tenant=tenant, user=admin, role=Role.OWNER)
            key = saved.get("api_key")
            still_valid = bool(
                key
                and ApiKey.objects.filter(
                    tenant=tenant, hashed_key=hash_key(key), revoked_at__isnull=True
                ).exists()
            )
            if not still_valid:
                key = api_key_create(tenant=tenant, name="demo", role=Role.ADMIN).secret
        path.write_text(json.dumps({"admin_password": password, "api_key": key}))
        path.chmod(0o600)
        self.stdout.write(f"Demo tenant: {tenant.slug}")
        self.stdout.write(f"Admin login: {ADMIN_USERNAME} / {password}")
        self.stdout.write(f"Demo API key: {key}")
