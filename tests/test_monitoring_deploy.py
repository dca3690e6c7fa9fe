"""docker-compose's monitoring profile: the compose file, Prometheus's configuration and Grafana's dashboard agree
with what /metrics serves."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import ActionFactory
from tracker import tasks

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
METRIC_NAME = re.compile(r"\b((?:django|plan_tracker)_[a-z_]+)\b")


def test_prometheus_scrapes_metrics_with_the_token_file():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"] == {"type": "Bearer", "credentials_file": "/tmp/metrics-token"}
    assert job["static_configs"][0]["targets"] == ["web:8000"]


def test_grafana_is_provisioned_with_the_datasource_the_dashboard_uses():
    [source] = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())["datasources"]
    [provider] = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/plan-tracker.yml").read_text())["providers"]
    assert source["url"] == "http://prometheus:9090" and provider["options"]["path"] == "/etc/grafana/dashboards"
    dashboard = json.loads((DEPLOY / "grafana/dashboards/plan-tracker.json").read_text())
    assert dashboard["uid"] == "plan-tracker" and len(dashboard["panels"]) >= 10
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]


def test_the_dashboard_file_is_the_one_its_script_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_dashboard", DEPLOY / "grafana" / "make_dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = json.loads((DEPLOY / "grafana/dashboards/plan-tracker.json").read_text())
    assert written == module.dashboard(), "run python deploy/grafana/make_dashboard.py"


def test_every_metric_the_dashboard_asks_for_is_served(db, settings, secretariat):
    settings.METRICS_TOKEN = "dashboard-check"
    client = Client()
    client.force_login(secretariat)
    ActionFactory()
    for _ in range(2):
        client.get(reverse("priorities:action-list"))
    tasks.ping.apply()
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer dashboard-check").content.decode()
    served = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
    dashboard = (DEPLOY / "grafana/dashboards/plan-tracker.json").read_text()
    asked = set(METRIC_NAME.findall(dashboard))
    assert len(asked) >= 8
    assert asked <= served, f"the dashboard asks for metrics /metrics does not serve: {sorted(asked - served)}"


def test_docker_compose_accepts_the_monitoring_profile(tmp_path):
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is not installed")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    # As CI checks it: a copy with the documented example values as its .env.
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    result = subprocess.run(
        ["docker-compose", "-f", str(tmp_path / "docker-compose.yml"), "--profile", "monitoring", "config"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"prometheus", "grafana", "web", "worker"} <= set(services)
    for name in ("web", "worker"):
        assert services[name]["environment"]["PROMETHEUS_MULTIPROC_DIR"] == "/app/var/metrics"
    assert "python:tracker.gunicorn_config" in services["web"]["command"]
    assert services["prometheus"]["profiles"] == ["monitoring"] == services["grafana"]["profiles"]
