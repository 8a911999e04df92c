import django.db.models.deletion
import uuid
from django.db import migrations, models

# A catalog used to keep only its newest edition. Its items become that edition, numbered as the
# catalog's version (1 for a catalog imported once), so that the edition numbers already written
# into items (`changed_in_version`), findings, reports and alerts keep naming the same edition.


def items_into_editions(apps, schema_editor):
    PriceCatalog = apps.get_model("catalogs", "PriceCatalog")
    CatalogEdition = apps.get_model("catalogs", "CatalogEdition")
    CatalogItem = apps.get_model("catalogs", "CatalogItem")
    Alert = apps.get_model("catalogs", "Alert")
    for catalog in PriceCatalog.objects.all().iterator():
        items = CatalogItem.objects.filter(catalog_id=catalog.pk)
        count = items.count()
        if not count and catalog.version < 1:
            continue  # created, never imported: no edition yet
        number = max(catalog.version, 1)
        edition = CatalogEdition.objects.create(
            tenant_id=catalog.tenant_id,
            catalog_id=catalog.pk,
            number=number,
            name=f"{catalog.name} v{number}"[:100],
            source_id=catalog.source_id,
            item_count=count,
        )
        items.update(edition_id=edition.pk)
        Alert.objects.filter(catalog_id=catalog.pk, catalog_version=number).update(
            edition_id=edition.pk
        )
        if catalog.version != number:
            PriceCatalog.objects.filter(pk=catalog.pk).update(version=number)


def newest_editions_only(apps, schema_editor):
    """Back to one edition per catalog: the items of older editions are dropped."""
    PriceCatalog = apps.get_model("catalogs", "PriceCatalog")
    CatalogItem = apps.get_model("catalogs", "CatalogItem")
    for catalog in PriceCatalog.objects.all().iterator():
        CatalogItem.objects.filter(catalog_id=catalog.pk).exclude(
            edition__number=catalog.version
        ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalogs", "0001_initial"),
        ("evidence", "0002_attachments"),
        ("tenants", "0002_platform"),
    ]

    operations = [
        migrations.CreateModel(
            name="CatalogEdition",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "number",
                    models.PositiveIntegerField(help_text="1, 2, … per catalog, in import order."),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="As budgets name it in their price system column, e.g. ÚRS 2026 01.",
                        max_length=100,
                    ),
                ),
                ("item_count", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "catalog",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="editions",
                        to="catalogs.pricecatalog",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        help_text="The imported file, when it was kept as a document.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="evidence.evidence",
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={
                "ordering": ["catalog", "-number"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("catalog", "number"), name="edition_unique_number"
                    ),
                    models.UniqueConstraint(fields=("catalog", "name"), name="edition_unique_name"),
                ],
            },
        ),
        migrations.AlterField(
            model_name="pricecatalog",
            name="version",
            field=models.PositiveIntegerField(
                default=0, help_text="The number of the newest edition; 0: nothing imported yet."
            ),
        ),
        migrations.AddField(
            model_name="catalogitem",
            name="edition",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="items",
                to="catalogs.catalogedition",
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="edition",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="catalogs.catalogedition",
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="previous_edition",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="catalogs.catalogedition",
            ),
        ),
        migrations.RunPython(items_into_editions, newest_editions_only),
    ]
