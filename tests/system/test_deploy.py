"""The deployment recipe and the image, checked without a container runtime.

``deploy/compose.yaml`` goes through ``docker-compose config`` (Debian's package; CI installs it),
``deploy/kubernetes/`` through kubernetes-validate's offline schemas, and both, with the
Containerfile, through the invariants the service relies on: a numeric non-root user, probes on
the health routes, shutdown budgets that cover the drain, workers apart from the app instances.
(``tests/system/test_deploy_topology.py`` runs the compose topology as processes.)
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.31.0"
MANIFESTS = ["configmap.yaml", "secret.yaml", "migrate-job.yaml", "app.yaml", "worker.yaml"]
COMPOSE_ENV = {"AICLONE_SECRET_KEY": "k" * 48, "POSTGRES_PASSWORD": "compose-test-password"}


def manifests() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for name in MANIFESTS:
        documents += [doc for doc in yaml.safe_load_all((KUBERNETES / name).read_text()) if doc]
    return documents


def resource(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def image_uid() -> int:
    (user,) = re.findall(r"^USER (\S+)$", (REPO / "Containerfile").read_text(), flags=re.MULTILINE)
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), f"USER {user} must be numeric (runAsNonRoot cannot check a name)"
    assert gid.isdigit()
    return int(uid)


# --- Kubernetes ---


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(MANIFESTS)
    assert sorted(p.name for p in KUBERNETES.glob("*.yaml")) == sorted([*MANIFESTS, "kustomization.yaml"])


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifests_pass_the_kubernetes_schemas(name: str) -> None:
    for document in yaml.safe_load_all((KUBERNETES / name).read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_rejects_a_broken_manifest() -> None:
    broken = copy.deepcopy(resource("Deployment", "aiclone-app"))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    unknown = copy.deepcopy(resource("Deployment", "aiclone-app"))
    unknown["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES_VERSION, strict=True)


def _pod_specs() -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in manifests()
        if d["kind"] in ("Deployment", "Job")
    }


def test_every_pod_runs_as_the_image_user_never_root_within_limits() -> None:
    uid = image_uid()
    assert set(_pod_specs()) == {"aiclone-app", "aiclone-worker", "aiclone-migrate"}
    for name, pod in _pod_specs().items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == uid, name
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
            refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
            assert refs == {"aiclone"}, name


def test_app_worker_and_migration_run_the_right_commands() -> None:
    pods = _pod_specs()
    app = pods["aiclone-app"]["containers"][0]["command"]
    assert app[:2] == ["aiclone", "serve"]
    assert {"--no-worker", "--no-migrate"} <= set(app)
    assert pods["aiclone-worker"]["containers"][0]["command"] == ["aiclone", "worker"]
    assert pods["aiclone-migrate"]["containers"][0]["command"] == ["aiclone", "db", "upgrade"]
    config = resource("ConfigMap", "aiclone")["data"]
    assert config["AICLONE_AUTO_MIGRATE"] == "false"
    assert config["AICLONE_RATE_LIMIT_STORAGE"].startswith("redis://")
    secret = resource("Secret", "aiclone")["stringData"]
    assert set(secret) == {"AICLONE_SECRET_KEY", "AICLONE_DATABASE_URL"}
    # Shipped empty: a pod started with the file as it is refuses to run rather than use a known key.
    assert not any(secret.values())


def test_probes_and_the_shutdown_budget_match_the_drain_settings() -> None:
    config = resource("ConfigMap", "aiclone")["data"]
    drain = float(config["AICLONE_SHUTDOWN_DRAIN_SECONDS"])
    grace = float(config["AICLONE_SHUTDOWN_GRACE_SECONDS"])
    app = _pod_specs()["aiclone-app"]
    (container,) = app["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pre_stop = float(command[1])
    # The readiness probe must see the drain's 503 before the drain ends.
    probe = container["readinessProbe"]
    assert probe["periodSeconds"] * probe["failureThreshold"] <= drain + pre_stop
    assert app["terminationGracePeriodSeconds"] == pre_stop + drain + grace + 5
    assert _pod_specs()["aiclone-worker"]["terminationGracePeriodSeconds"] == grace + 5


def test_the_service_and_the_disruption_budgets_select_the_pods() -> None:
    app_labels = resource("Deployment", "aiclone-app")["spec"]["template"]["metadata"]["labels"]
    worker_labels = resource("Deployment", "aiclone-worker")["spec"]["template"]["metadata"]["labels"]
    service = resource("Service", "aiclone")["spec"]
    assert service["selector"].items() <= app_labels.items()
    assert not service["selector"].items() <= worker_labels.items()
    assert service["ports"][0]["targetPort"] == "http"
    app_budget = resource("PodDisruptionBudget", "aiclone-app")["spec"]
    assert (
        app_budget["selector"]["matchLabels"]
        == resource("Deployment", "aiclone-app")["spec"]["selector"]["matchLabels"]
    )
    assert app_budget["minAvailable"] < resource("Deployment", "aiclone-app")["spec"]["replicas"]
    worker_budget = resource("PodDisruptionBudget", "aiclone-worker")["spec"]
    assert worker_budget["selector"]["matchLabels"] == worker_labels


# --- compose ---


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    return services


def test_docker_compose_accepts_the_file() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing; .ci/run installs Debian's docker-compose")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose); CI runs this")
    env = {**os.environ, **COMPOSE_ENV}
    checked = subprocess.run(
        [tool, "-f", str(DEPLOY / "compose.yaml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    # Without the secret the file refuses to resolve instead of starting with an empty key.
    env.pop("AICLONE_SECRET_KEY")
    refused = subprocess.run(
        [tool, "-f", str(DEPLOY / "compose.yaml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "AICLONE_SECRET_KEY" in refused.stderr


def test_compose_topology_is_two_instances_one_worker_one_migration() -> None:
    services = compose_services()
    apps = [name for name, s in services.items() if s.get("command", [])[:2] == ["aiclone", "serve"]]
    workers = [name for name, s in services.items() if s.get("command") == ["aiclone", "worker"]]
    assert len(apps) == 2
    assert len(workers) == 1
    assert services["migrate"]["command"] == ["aiclone", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in [*apps, *workers]:
        service = services[name]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert service["environment"]["AICLONE_AUTO_MIGRATE"] == "false", name
        assert service["environment"]["AICLONE_RATE_LIMIT_STORAGE"] == "redis://redis:6379/0", name
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in apps:
        service = services[name]
        assert "--no-worker" in service["command"], name
        assert "/health/ready" in " ".join(service["healthcheck"]["test"]), name
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}, name
        env = service["environment"]
        budget = float(env["AICLONE_SHUTDOWN_DRAIN_SECONDS"]) + float(env["AICLONE_SHUTDOWN_GRACE_SECONDS"])
        assert float(service["stop_grace_period"].removesuffix("s")) >= budget + 5, name
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name


# --- the image ---


def test_the_containerfile_installs_the_lock_in_a_layer_of_its_own() -> None:
    text = (REPO / "Containerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    lock_copy = lines.index("COPY requirements.lock /tmp/requirements.lock")
    lock_install = next(i for i, line in enumerate(lines) if "--require-hashes" in line)
    source_copy = lines.index("COPY src ./src")
    assert lock_copy < lock_install < source_copy, "the dependency layer must not depend on the source"
    assert "--no-deps -r /tmp/requirements.lock" in lines[lock_install]
    # Nothing but the lock reaches the dependency stage before the install.
    deps_stage = text.split("FROM ${PYTHON_IMAGE} AS deps", 1)[1].split("\nFROM ", 1)[0]
    assert re.findall(r"^COPY .*$", deps_stage, flags=re.MULTILINE) == [
        "COPY requirements.lock /tmp/requirements.lock"
    ]
    runtime = text.split("AS runtime", 1)[1]
    assert runtime.index("COPY --from=deps") < runtime.index("COPY --from=builder")


def test_the_containerfile_runs_as_a_numeric_user_and_carries_oci_labels() -> None:
    text = (REPO / "Containerfile").read_text()
    uid = image_uid()
    assert f"--uid {uid}" in text
    labels = set(re.findall(r"org\.opencontainers\.image\.([a-z.]+)=", text))
    assert {"title", "description", "version", "revision", "created", "licenses"} <= labels
    assert "/health/ready" in text.split("HEALTHCHECK", 1)[1]
    for path in ("requirements.lock", "hatch_build.py", "pyproject.toml", "alembic.ini"):
        assert (REPO / path).is_file(), path
