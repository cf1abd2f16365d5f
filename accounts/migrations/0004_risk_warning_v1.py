"""Publishes the first risk warning from accounts/data/risk_warning.txt."""

from pathlib import Path

from django.db import migrations

TEXT = Path(__file__).resolve().parent.parent / "data" / "risk_warning.txt"


def publish(apps, schema_editor):
    RiskWarning = apps.get_model("accounts", "RiskWarning")
    RiskWarning.objects.get_or_create(version="2026-11", defaults={"body": TEXT.read_text(encoding="utf-8")})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_suitability")]
    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
