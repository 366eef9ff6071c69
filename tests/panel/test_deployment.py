"""Production settings and the docker-compose stack (no Docker engine here: the file is checked)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x7Kq2vRj9sLw4NbT1cYh8ZpM3dFg6AeU0oIiVnBrXtCsQyJkHlWmEaPfGuDzOS5",
    "FIELD_ENCRYPTION_KEY": "3q2-7wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "ALLOWED_HOSTS": "panel.example.com",
    "DATABASE_URL": "sqlite:////tmp/panel-deploy-check.sqlite3",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests for their own process, never in production.
    dropped = {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "panel.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check_at_warning_level():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_to_start_without_an_encryption_key_when_debug_is_off():
    env = {**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEY": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY is not set" in result.stderr


def _settings_variables() -> set[str]:
    text = (ROOT / "panel" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', text))


def _example_variables() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def test_env_example_lists_exactly_the_variables_the_settings_read():
    assert _example_variables() == _settings_variables()


def test_compose_services_set_only_variables_the_settings_read():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    known = _settings_variables()
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        unknown = set(service["environment"]) - known
        assert not unknown, f"{name} sets {unknown}, which panel/settings.py never reads"
        assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"} <= set(service["environment"])


def test_compose_commands_exist_in_the_project():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    commands = get_commands()
    app_services = {name: s for name, s in compose["services"].items() if "build" in s}
    workers = {f"worker-{queue}" for queue in ("default", "placement", "polling", "sync")}
    assert set(app_services) == {"migrate", "web", "beat", *workers}
    for name, service in app_services.items():
        command = service["command"]
        if command[0] == "python":
            assert command[1] == "manage.py" and command[2] in commands, f"{name}: {command}"
        elif command[0] == "gunicorn":
            module, _, attribute = command[1].partition(":")
            assert (ROOT / (module.replace(".", "/") + ".py")).exists() and attribute == "application"
        elif command[0] == "celery":
            assert command[1:3] == ["-A", "panel"] and command[3] in {"worker", "beat"}
            assert (ROOT / "panel" / "celery.py").exists()
        else:
            raise AssertionError(f"{name}: unexpected command {command}")
    assert "healthcheck" in compose["services"]["web"] and "healthcheck" in compose["services"]["postgres"]
    assert "healthcheck" in compose["services"]["redis"]


def test_compose_runs_a_worker_for_each_queue_the_settings_declare(settings):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    consumed = set()
    for service in compose["services"].values():
        command = service.get("command") or []
        if command[:4] == ["celery", "-A", "panel", "worker"]:
            consumed.update(command[command.index("-Q") + 1].split(","))
    assert consumed == {queue.name for queue in settings.CELERY_TASK_QUEUES}


def test_compose_web_health_check_url_exists_and_skips_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok")


def test_the_dockerfile_installs_the_pinned_requirements_and_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert '"gunicorn", "panel.wsgi:application"' in dockerfile
    pins = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^gunicorn==", pins, re.M) and re.search(r"^psycopg\[binary\]==", pins, re.M)


def test_static_files_collect_for_production_as_the_dockerfile_does(tmp_path):
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path)}
    result = _manage("collectstatic", "--noinput", env=env)
    assert result.returncode == 0, result.stderr
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert '"panel/panel.css"' in manifest and '"panel/order.js"' in manifest


def test_the_migrations_match_the_models():
    result = _manage("makemigrations", "--check", "--dry-run", env={**PRODUCTION_ENV, "DEBUG": "1"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_when_debug_is_off_and_reset_mail_would_go_to_the_console():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "EMAIL_BACKEND"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "panel.E001" in result.stderr and "password-reset links would be printed to the log" in result.stderr
    console = {**PRODUCTION_ENV, "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    assert _manage("check", env=console).returncode != 0
    assert _manage("check", env={**env, "DEBUG": "1"}).returncode == 0


def test_it_refuses_an_admin_url_that_is_not_a_relative_folder():
    result = _manage("check", env={**PRODUCTION_ENV, "ADMIN_URL": "/admin"})
    assert result.returncode != 0
    assert "ADMIN_URL must look like 'admin/'" in result.stderr


def test_the_docker_image_leaves_out_secrets_history_and_local_state():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".git", "var/", ".venv/"} <= ignored


def test_compose_publishes_web_on_loopback_only_behind_one_trusted_proxy():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    environment = compose["services"]["web"]["environment"]
    assert environment["TRUSTED_PROXY_COUNT"] == "${TRUSTED_PROXY_COUNT:-1}"
    assert environment["SECURE_PROXY_SSL_HEADER"] == "1"
    assert "EMAIL_BACKEND" in environment and "EMAIL_HOST" in environment


def test_the_default_hosts_are_this_machine_only_without_the_test_clients_name():
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "ALLOWED_HOSTS"}
    clean = {key: value for key, value in os.environ.items() if key != "ALLOWED_HOSTS"}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.ALLOWED_HOSTS)"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "panel.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['localhost', '127.0.0.1', '[::1]']"
