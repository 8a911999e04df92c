import django.db.models.deletion
from django.db import migrations, models

# Apart from 0002: on PostgreSQL a table whose rows a migration updated cannot be altered in the
# same transaction (its deferred foreign key checks are still pending).


class Migration(migrations.Migration):
    dependencies = [("catalogs", "0002_editions")]

    operations = [
        migrations.AlterField(
            model_name="catalogitem",
            name="edition",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="items",
                to="catalogs.catalogedition",
            ),
        ),
        migrations.RemoveConstraint(model_name="catalogitem", name="catalog_item_unique_code"),
        migrations.AddConstraint(
            model_name="catalogitem",
            constraint=models.UniqueConstraint(
                fields=("edition", "code"), name="edition_item_unique_code"
            ),
        ),
        migrations.AlterModelOptions(
            name="catalogitem",
            options={"ordering": ["edition", "code"]},
        ),
    ]
