from django.db import migrations

MOVED = {"catalogs": ["pricecatalog", "catalogitem", "alert"]}
MOVED["audits"] = ["auditpolicy", "auditreport", "finding", "waiver"]


def content_types_follow(apps, schema_editor):
    """The moved models' content types (and so their permissions and admin history) go with
    them; on a new database there are none yet and nothing happens."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, models in MOVED.items():
        for model in models:
            if ContentType.objects.filter(app_label=app_label, model=model).exists():
                continue
            ContentType.objects.filter(app_label="projects", model=model).update(
                app_label=app_label
            )


def content_types_return(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, models in MOVED.items():
        ContentType.objects.filter(app_label=app_label, model__in=models).update(
            app_label="projects"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0002_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(content_types_follow, content_types_return)]
