"""Settings parse strictly: a bad value stops start-up with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.env import database_from_url, env_bool, env_int

ROOT = Path(__file__).resolve().parents[2]


def manage_check(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "AWS_"))
    }
    clean |= {"KALKULA_VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_URL", "mysql://localhost/x", "DATABASE_URL: scheme must be one of"),
        ("DATABASE_URL", "postgres://localhost:port/x", "DATABASE_URL: the port is not a number"),
        ("DEBUG", "maybe", "DEBUG: expected true or false"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL: scheme must be one of"),
        ("DATABASE_CONN_MAX_AGE", "-1", "DATABASE_CONN_MAX_AGE: must be at least 0"),
        # Not above channels-redis's 5 s BZPOPMIN: quiet websockets would be closed.
        ("CHANNEL_LAYER_SOCKET_TIMEOUT", "5", "CHANNEL_LAYER_SOCKET_TIMEOUT: must be at least 6"),
    ],
)
def test_a_bad_value_fails_start_up_naming_the_variable(tmp_path, variable, value, message):
    env = {variable: value}
    if variable == "DATABASE_CONN_MAX_AGE":
        env["DATABASE_URL"] = "postgres://127.0.0.1:5432/kalkula"
    if variable == "CHANNEL_LAYER_SOCKET_TIMEOUT":
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    result = manage_check(tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_embedded_defaults_need_no_setting(tmp_path):
    result = manage_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret-key").exists()


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "AWS_"))
    } | {
        "KALKULA_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 60 + "production-secret-from-the-environment",
        "KALKULA_HTTPS": "true",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "kalkula.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_secrets_can_come_from_files(tmp_path, monkeypatch):
    secret_file = tmp_path / "debug"
    secret_file.write_text("true\n")
    monkeypatch.setenv("DEBUG_FILE", str(secret_file))
    monkeypatch.delenv("DEBUG", raising=False)
    assert env_bool("DEBUG", False) is True


def test_parsers_reject_bad_values(monkeypatch):
    monkeypatch.setenv("N", "ten")
    with pytest.raises(ImproperlyConfigured, match="N: expected a whole number"):
        env_int("N", 1)


def test_database_urls():
    pg = database_from_url(
        "DATABASE_URL", "postgres://u:p%40ss@db.example:6543/kalkula?sslmode=require"
    )
    assert (pg["NAME"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"]) == (
        "kalkula",
        "u",
        "p@ss",
        "db.example",
        "6543",
    )
    assert pg["OPTIONS"] == {"sslmode": "require"}
    assert database_from_url("DATABASE_URL", "sqlite:////tmp/k.sqlite3")["NAME"] == "/tmp/k.sqlite3"
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        database_from_url("DATABASE_URL", "postgres://localhost:5432/")
