"""docker-compose.yml, the Dockerfile, the provisioning files and the Kubernetes example, checked
structurally (no Docker engine here): services, pinned images, files referenced, ports, health
checks, secrets from the environment; the Prometheus config passes promtool."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO
from tests.ops.promstack import binary

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
PINNED = re.compile(r"^[\w./-]+:v?\d+\.\d+(\.\d+)?[\w.-]*$")
NO_HEALTHCHECK = {"otel-collector": "distroless image without a shell"}


def test_the_stack_has_every_part() -> None:
    assert set(SERVICES) == {
        "sidecar",
        "demo-agent",
        "postgres",
        "otel-collector",
        "prometheus",
        "alertmanager",
        "grafana",
    }


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        image = service.get("image")
        assert image, f"{name}: no image"
        assert PINNED.match(image) and not image.endswith(":latest"), f"{name}: {image}"
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM "):
            assert PINNED.match(line.split()[1]), line


def test_referenced_files_exist() -> None:
    assert SERVICES["sidecar"]["build"] == "."
    assert (REPO / "Dockerfile").is_file() and (REPO / ".dockerignore").is_file()
    mounted = 0
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{name}: {source} missing"
                mounted += 1
            else:
                assert source in COMPOSE["volumes"], f"{name}: volume {source} undeclared"
    assert mounted >= 8
    for path in re.findall(r"COPY (\S+) ", (REPO / "Dockerfile").read_text()):
        if not path.startswith("--"):
            assert (REPO / path).exists(), path


def test_ports_are_loopback_and_match_the_services() -> None:
    expected = {"sidecar": 8787, "prometheus": 9090, "alertmanager": 9093, "grafana": 3000}
    for name, service in SERVICES.items():
        ports = service.get("ports", [])
        if name not in expected:
            assert not ports, f"{name} should not be published"
            continue
        assert ports == [f"127.0.0.1:{expected[name]}:{expected[name]}"], (name, ports)
    assert SERVICES["sidecar"]["environment"]["SIDECAR_PORT"] == "8787"


def test_health_checks_and_start_order() -> None:
    for name, service in SERVICES.items():
        if name in NO_HEALTHCHECK:
            assert "healthcheck" not in service
            continue
        check = service.get("healthcheck")
        assert check and check["test"][0] == "CMD" and check["interval"], name
        assert service.get("restart") == "unless-stopped", name
    assert "/ready" in " ".join(SERVICES["sidecar"]["healthcheck"]["test"])
    needs = SERVICES["sidecar"]["depends_on"]
    assert needs["postgres"]["condition"] == "service_healthy"
    assert SERVICES["demo-agent"]["depends_on"]["sidecar"]["condition"] == "service_healthy"
    assert SERVICES["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"


def test_secrets_come_from_the_environment() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET|KEY", key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), f"{name}.{key}"
    assert "postgresql://sidecar:${POSTGRES_PASSWORD:?" in text
    for secret in COMPOSE["secrets"].values():
        assert set(secret) == {"environment"}
    alertmanager = (REPO / "alerts" / "alertmanager.yml").read_text()
    for secret in SERVICES["alertmanager"]["secrets"]:
        assert f"/run/secrets/{secret}" in alertmanager
    prometheus = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    job = prometheus["scrape_configs"][0]
    assert job["job_name"] == "agent-sidecar"  # the name AgentSidecarDown matches on
    assert job["authorization"]["credentials_file"] == "/run/secrets/sidecar_api_token"
    assert "sidecar_api_token" in SERVICES["prometheus"]["secrets"]


def test_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    config = (REPO / "deploy/prometheus/prometheus.yml").read_text()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "agent-sidecar.rules.yml").write_text(
        (REPO / "alerts/agent-sidecar.rules.yml").read_text()
    )
    (tmp_path / "token").write_text("a-test-token")
    config = config.replace("/etc/prometheus/rules", str(tmp_path / "rules"))
    config = config.replace("/run/secrets/sidecar_api_token", str(tmp_path / "token"))
    (tmp_path / "prometheus.yml").write_text(config)
    done = subprocess.run(
        [binary("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 10 rules found" in done.stdout


def test_grafana_provisioning_points_at_the_mounted_dashboards() -> None:
    provider = yaml.safe_load(
        (REPO / "deploy/grafana/provisioning/dashboards/agent-sidecar.yml").read_text()
    )
    path = provider["providers"][0]["options"]["path"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in SERVICES["grafana"]["volumes"]}
    assert mounts[path] == "./dashboards"
    datasource = yaml.safe_load(
        (REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    assert datasource["datasources"][0]["type"] == "prometheus"
    assert datasource["datasources"][0]["url"] == "http://prometheus:9090"
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (REPO / "dashboards" / Path(home).name).is_file()


def test_collector_receives_what_the_sidecar_sends() -> None:
    collector = yaml.safe_load((REPO / "deploy/otel-collector/config.yaml").read_text())
    http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    endpoint = SERVICES["sidecar"]["environment"]["SIDECAR_TRACES__ENDPOINT"]
    assert endpoint == f"http://otel-collector:{http.rsplit(':', 1)[1]}"
    pipeline = collector["service"]["pipelines"]["traces"]
    assert set(pipeline["receivers"]) <= set(collector["receivers"])
    assert set(pipeline["exporters"]) <= set(collector["exporters"])
    assert set(pipeline["processors"]) <= set(collector["processors"])


def test_kubernetes_example_has_probes_on_health_and_ready() -> None:
    docs = list(
        yaml.safe_load_all((REPO / "deploy/kubernetes/agent-with-sidecar.yaml").read_text())
    )
    pod = docs[0]["spec"]["template"]["spec"]
    sidecar = next(c for c in pod["initContainers"] if c["name"] == "agent-sidecar")
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["livenessProbe"]["httpGet"]["path"] == "/health"
    assert sidecar["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert sidecar["startupProbe"]["httpGet"]["path"] == "/health"
    env = {e["name"]: e for e in sidecar["env"]}
    assert "secretKeyRef" in env["SIDECAR_API_TOKEN"]["valueFrom"]
    deploy_doc = (REPO / "docs" / "deploy.md").read_text()
    assert "restartPolicy: Always" in deploy_doc and "readinessProbe" in deploy_doc
