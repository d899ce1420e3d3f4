"""The container image, run the way an operator runs it: deploy/Dockerfile built by
scripts/image.sh (buildah, Debian-made base images), then the gateway in a container with a
read-only root filesystem as uid 10001, on the host network against an iot-emulator on the host,
called with grpcurl, probed on /readyz, asked for --version, and stopped with SIGTERM while a call
is in flight.

Run after `scripts/image.sh` (scripts/test.sh does both); podman uses the same store
(OTA_IMAGE_DIR, default build/image) through `scripts/image.sh podman ...`. Credentials reach the
container as environment passed through by name (`--env NAME`), never on a command line, and the
session's logs are scanned for them (tests/e2e/secret_scan.py).
"""
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import secret_scan  # noqa: E402
from conftest import (LOG_DIR, SECRETS, Emulator, Process, free_port, grpcurl,  # noqa: E402,F401
                      processes)

IMAGE = os.environ.get("OTA_IMAGE_TAG", "ota-gateway:dev")
IMAGE_SH = ROOT / "scripts" / "image.sh"
SERVICE = "ota.v1.OtaStrategyService"


def podman(*args, timeout=120, check=True):
    out = subprocess.run([IMAGE_SH, "podman", *map(str, args)], capture_output=True, text=True,
                         timeout=timeout)
    if check:
        assert out.returncode == 0, f"podman {' '.join(map(str, args))}: {out.stderr}"
    return out


def http_get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:  # refused, reset: no answer at all
        return 0, str(e)


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def image():
    inspect = podman("image", "inspect", IMAGE, check=False)
    assert inspect.returncode == 0, f"{IMAGE} not built: run scripts/image.sh first"
    return json.loads(inspect.stdout)[0]


class Container(Process):
    """`podman run` of the image in the foreground: its output is the gateway's."""

    def __init__(self, name, image_args, podman_args=(), env=None):
        self.container = f"ota-image-test-{name}-{secrets.token_hex(4)}"
        argv = [IMAGE_SH, "podman", "run", "--rm", "--name", self.container, "--network", "host",
                "--read-only", "--no-healthcheck", *podman_args, IMAGE, *image_args]
        super().__init__(name, argv, env)

    def pid(self):
        out = podman("inspect", "--format", "{{.State.Pid}}", self.container)
        return int(out.stdout.strip())

    def stop(self, *args, **kwargs):
        if self.proc.poll() is None:
            podman("rm", "--force", "--time", "0", self.container, check=False)
        return super().stop(*args, **kwargs)


def test_image_config(image):
    config = image["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["/usr/local/bin/ota-gateway"]
    assert not config.get("Cmd")
    assert "OTA_ADMIN_LISTEN=0.0.0.0:9464" in config["Env"]
    # --format docker keeps the HEALTHCHECK (OCI has no such field).
    assert "/readyz" in " ".join(image["Healthcheck"]["Test"])


def test_version_names_the_build(image):
    out = podman("run", "--rm", "--read-only", "--no-healthcheck", IMAGE, "--version")
    version = (ROOT / "stubs" / "VERSION").read_text().strip()
    assert out.stdout.startswith(f"ota-gateway {version}"), out.stdout + out.stderr
    # The commit scripts/image.sh passed in (the image has no .git).
    assert re.search(r"\b[0-9a-f]{12,40}\b", out.stdout), out.stdout


def test_no_host_ca_bundle_in_the_image(image):
    # scripts/image.sh lends the build host's CA bundle to npm as a build secret: none of the CAs
    # the host added itself (e.g. a TLS-inspecting proxy's) may be in any file of the image.
    local_cas = sorted(Path("/usr/local/share/ca-certificates").glob("**/*.crt"))
    if not local_cas:
        pytest.skip("this host trusts no CA beyond Debian's ca-certificates")
    markers = []
    for ca in local_cas:
        body = [line for line in ca.read_text().splitlines()
                if line and not line.startswith("-----")]
        markers.append(max(body[1:-1] or body, key=len))  # a line from the middle of the PEM
    # The search finds them where they are: in the bundle the build lends to npm.
    pattern_args = sum((["-e", m] for m in markers), [])
    assert subprocess.run(["grep", "-qF", *pattern_args, "/etc/ssl/certs/ca-certificates.crt"]
                          ).returncode == 0
    mount = podman("image", "mount", IMAGE).stdout.strip()
    try:
        found = subprocess.run(["grep", "-rlF", *pattern_args, mount],
                               capture_output=True, text=True)
        assert found.returncode == 1, f"host CA material in the image: {found.stdout}"
        bundle = Path(mount, "etc/ssl/certs/ca-certificates.crt")
        assert bundle.exists(), "ca-certificates missing from the image"
        assert bundle.read_bytes() != Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()
        assert not Path(mount, "run/secrets/build-ca").exists()
    finally:
        podman("image", "unmount", IMAGE, check=False)


def test_gateway_in_the_container(image, processes, tmp_path):
    key_id = f"ImageTestKey{secrets.token_hex(6)}"
    secret = f"image-test-secret-{secrets.token_hex(12)}"
    emulator = Emulator(f"--access-key={key_id}:{secret}", "--job=IMG-1=dynamic",
                        "--job=IMG-2=dynamic", "--qps=0", "--fault-latency=1500ms")
    processes.append(emulator)
    grpc_port, admin_port = free_port(), free_port()
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": key_id, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
           "OTA_LISTEN": f"127.0.0.1:{grpc_port}", "OTA_ADMIN_LISTEN": f"127.0.0.1:{admin_port}"}
    gateway = Container(
        "gateway", [f"--endpoint={emulator.url}", "--plaintext", "--allow-unauthenticated",
                    "--drain-timeout=20s"],
        [arg for name in env for arg in ("--env", name)], env)
    processes.append(gateway)
    gateway.wait_for_line("ota-gateway serving", timeout=60)
    assert secret not in " ".join(gateway.argv)

    # uid 10001 and a read-only root, as the process sees them.
    status = Path(f"/proc/{gateway.pid()}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["10001"] * 4, uid_line
    write = podman("exec", gateway.container, "bash", "-c", "echo x >/usr/local/bin/probe",
                   check=False)
    assert write.returncode != 0 and "Read-only file system" in write.stderr, write.stderr

    ready, body = http_get(f"http://127.0.0.1:{admin_port}/readyz")
    assert ready == 200, body
    target = f"127.0.0.1:{grpc_port}"
    assert SERVICE in grpcurl("-plaintext", target, "list").stdout
    first = grpcurl("-plaintext", "-max-time", "20", "-d", '{"job_id": "IMG-1"}', target,
                    f"{SERVICE}/CancelByJob")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["request_id"]

    # SIGTERM while a call waits on the upstream's latency: the call gets its real answer, new
    # probes say not ready, and the container exits 0.
    in_flight = Process("grpcurl-in-flight", [
        os.environ.get("OTA_GRPCURL", str(ROOT / ".tools" / "bin" / "grpcurl")), "-plaintext",
        "-max-time", "20", "-d", '{"job_id": "IMG-2"}', target, f"{SERVICE}/CancelByJob"])
    processes.append(in_flight)
    wait_until(lambda: any(c.get("action") == "CancelOTAStrategyByJob" and "IMG-2" in
                           json.dumps(c) for c in emulator.calls()), 10, "the second call upstream")
    podman("kill", "--signal", "TERM", gateway.container)
    wait_until(lambda: http_get(f"http://127.0.0.1:{admin_port}/readyz")[0] == 503, 5,
               "/readyz to answer 503 while draining")
    assert in_flight.proc.wait(20) == 0, in_flight.output()
    assert json.loads(in_flight.output())["request_id"]
    assert gateway.proc.wait(30) == 0, gateway.output()
    assert "shutting down: draining in-flight calls" in gateway.output()


def test_no_configured_secret_in_any_log():
    # (tests/e2e's conftest runs this at session end; this folder has no conftest of its own.)
    leaks = secret_scan.find_leaks(secret_scan.log_files(LOG_DIR), SECRETS)
    assert not leaks, secret_scan.describe(leaks)
