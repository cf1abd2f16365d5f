"""Production settings pass Django's deployment checks; secrets come only from the environment."""

import base64
import os
import secrets
import subprocess
import sys

from tests.processes import ROOT


def run_check(**env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "marketplace.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


PRODUCTION_KEYS = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "PII_VAULT_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "PII_HASH_KEY": secrets.token_urlsafe(32),
}


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = run_check(**PRODUCTION_KEYS, ALLOWED_HOSTS="auctions.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_check(ALLOWED_HOSTS="auctions.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
