"""The first NDA text, loaded from portfolios/data/nda_v1.txt (later versions are added by staff in admin)."""

from pathlib import Path

from django.db import migrations

TEXT = Path(__file__).resolve().parent.parent / "data" / "nda_v1.txt"


def add_version_1(apps, schema_editor):
    NdaVersion = apps.get_model("portfolios", "NdaVersion")
    NdaVersion.objects.get_or_create(version=1, defaults={"text": TEXT.read_text(encoding="utf-8").strip()})


class Migration(migrations.Migration):
    dependencies = [("portfolios", "0004_data_room")]
    operations = [migrations.RunPython(add_version_1, migrations.RunPython.noop)]
