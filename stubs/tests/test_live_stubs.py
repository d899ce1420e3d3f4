"""The client packages, published to real registries and consumed from them, against the real
ota-gateway + iot-emulator, each in its own language.

A module-scoped fixture starts the registries a company would run: pypiserver (a PyPI-compatible
index, uploads behind a password), verdaccio (an npm registry, publishing behind a token), a Maven
repository (file://, written by maven-deploy-plugin) and a Go module proxy (a directory in GOPROXY
layout, read with GOPROXY=file://). It runs `stubs/publish.sh --dry-run`, then `stubs/publish.sh`,
then `stubs/publish.sh` again (which must refuse: the version exists). The packages must already be
built (stubs/build-packages.sh; stubs/test.sh does both), so publish.sh runs with --no-build.

For every language it then starts an iot-emulator, a gateway in emulator mode, and a second gateway
limited to --qps=1 --burst=1, installs the package into a clean consumer project with that
ecosystem's ordinary command, and runs the language's own test runner on it (the example consumers
in stubs/examples/<language>) with the targets in the environment. The C++ package is installed
here from the main build (OTA_BUILD_DIR) into a temporary prefix, and the example finds it with
find_package. Each language also pages through ListJobsByFirmware over the emulator's demo firmware
(DEMO_FIRMWARE) and checks the batches' fields. Also checks the descriptor set with grpcurl -protoset, the contract against the last
released one with buf breaking (and the version rule of stubs/contract_version.py), and that the
contract's ErrorReason enum lists exactly the reasons the gateway's sources send.

Process handling is the end-to-end harness's (tests/e2e/conftest.py), loaded under its own name so
this suite stays out of the ctest glob over tests/e2e/test_*.py.
"""
import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
import urllib.error
import urllib.request
from pathlib import Path

import pytest

STUBS = Path(__file__).resolve().parents[1]
ROOT = STUBS.parent
BUILD = STUBS / "build"
VERSION = (STUBS / "VERSION").read_text().strip()
# The module path a company's Go proxy would serve the module under; the Go example imports it.
GO_MODULE = "corp.example/ota-gateway/client"
MAVEN_ARTIFACT = Path("com/otagateway/ota-gateway-client") / VERSION
# The firmware every iot-emulator lists its demo batches under (ListOTAJobByFirmware): 20 dynamic
# ones, planned or in progress, one static and one finished; the live tests page through it.
DEMO_FIRMWARE = {"OTA_FIRMWARE_ID": "demo-firmware-0001", "OTA_FIRMWARE_JOB_COUNT": "22",
                 "OTA_FIRMWARE_STATIC_JOB": "demo-static-0001",
                 "OTA_FIRMWARE_FINISHED_JOB": "demo-finished-0001"}


def _load_harness():
    # The harness imports helper modules that live beside it (secret_scan).
    sys.path.insert(0, str(ROOT / "tests/e2e"))
    spec = importlib.util.spec_from_file_location("ota_e2e_harness", ROOT / "tests/e2e/conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


harness = _load_harness()
processes = harness.processes  # the fixture that stops what a test started


def run(argv, cwd, env=None, timeout=600):
    """Runs a language's test runner with its output going straight to ours (so its own summary
    is printed), and returns its exit code."""
    print(f"\n$ (cd {os.path.relpath(cwd, ROOT)} && {' '.join(map(str, argv))})", flush=True)
    return subprocess.run([str(a) for a in argv], cwd=cwd, env={**os.environ, **(env or {})},
                          timeout=timeout).returncode


def openssl(*args, cwd):
    result = subprocess.run(["openssl", *map(str, args)], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A throwaway CA, the gateway's certificate for 127.0.0.1, and a client certificate the CA
    signed (so the mTLS handshake passes) whose name is in no callers file (so the bearer token
    decides who calls)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=test-ca",
            "-days", "2", cwd=d)
    for name, usage, san in (("server", "serverAuth", "IP:127.0.0.1"),
                             ("client", "clientAuth", "URI:spiffe://test.example/example-client")):
        openssl("req", "-new", *ec, "-keyout", f"{name}-key.pem", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(f"basicConstraints=critical,CA:FALSE\n"
                                       f"extendedKeyUsage={usage}\nsubjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
                cwd=d)
    return d


def copy_client_pki(pki, example):
    """The files the README's TLS code reads, where the example runs."""
    for name in ("ca.pem", "client.pem", "client-key.pem"):
        shutil.copy(pki / name, example / name)


@pytest.fixture
def live(processes, request, pki, tmp_path):
    """An emulator, a gateway, a rate-limited gateway, and a gateway that takes only TLS with
    client certificates and knows two bearer tokens (one allowed only another IoT instance), as
    the environment the examples read, with the emulator's demo firmware (DEMO_FIRMWARE)."""
    lang = request.param
    dynamic_job, limited_job, secure_job = (f"JOB-{lang}-DYN", f"JOB-{lang}-LIMITED",
                                            f"JOB-{lang}-SECURE")
    emulator = harness.Emulator(f"--job={dynamic_job}=dynamic", f"--job={limited_job}=dynamic",
                                f"--job={secure_job}=dynamic")
    processes.append(emulator)
    gateway = harness.Gateway(emulator)
    processes.append(gateway)
    limited = harness.Gateway(emulator, "--qps=1", "--burst=1")
    processes.append(limited)
    tokens = {name: secrets.token_urlsafe(24) for name in ("good", "limited", "wrong")}
    harness.SECRETS.update(tokens.values())
    callers = tmp_path / "callers.json"
    callers.write_text(json.dumps({"callers": [
        {"name": "example-service", "identities": [{"token_sha256": sha256(tokens["good"])}]},
        {"name": "other-instance-service",
         "identities": [{"token_sha256": sha256(tokens["limited"])}],
         "iot_instance_ids": ["iot-some-other-instance"]}]}))
    secure = harness.Gateway(emulator, security=(
        f"--tls-cert-file={pki / 'server.pem'}", f"--tls-key-file={pki / 'server-key.pem'}",
        f"--tls-client-ca-file={pki / 'ca.pem'}", f"--callers-file={callers}"))
    processes.append(secure)
    return {"OTA_TARGET": gateway.target, "OTA_LIMITED_TARGET": limited.target,
            "OTA_DYNAMIC_JOB": dynamic_job, "OTA_LIMITED_JOB": limited_job,
            "OTA_SECURE_TARGET": secure.target, "OTA_SECURE_JOB": secure_job,
            "OTA_TOKEN": tokens["good"], "OTA_LIMITED_TOKEN": tokens["limited"],
            "OTA_WRONG_TOKEN": tokens["wrong"], **DEMO_FIRMWARE}


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def wait_http(url, timeout=60):
    """Polls url until it answers (any HTTP status): the server is up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except OSError as err:
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout} s: {err}") from err
            time.sleep(0.2)


class Registries:
    """pypiserver, verdaccio, a file:// Maven repository and a GOPROXY-layout directory, and the
    settings stubs/publish.sh reads to publish to them."""

    def __init__(self, base):
        self.base = base
        self.started = []
        self.user = "ota-publisher"
        self.password = secrets.token_urlsafe(18)
        harness.SECRETS.add(self.password)
        self.maven_repo = base / "maven-repo"
        self.go_proxy = base / "go-proxy"
        self.go_proxy.mkdir()
        self._start_pypiserver()
        self._start_verdaccio()

    def _start_pypiserver(self):
        packages = self.base / "pypi-packages"
        packages.mkdir()
        htpasswd = self.base / "pypi.htpasswd"
        hashed = subprocess.run(["openssl", "passwd", "-apr1", "-stdin"], input=self.password,
                                capture_output=True, text=True, check=True).stdout.strip()
        htpasswd.write_text(f"{self.user}:{hashed}\n")
        port = harness.free_port()
        # Uploads need the password; reads do not. Packages the index lacks (the wheel's own
        # dependencies) are redirected to PyPI, as a company index that fronts PyPI does.
        self.started.append(harness.Process("pypiserver", [
            ROOT / ".venv" / "bin" / "pypi-server", "run", "-i", "127.0.0.1", "-p", port,
            "-a", "update", "-P", htpasswd, packages]))
        self.pypi = f"http://127.0.0.1:{port}/"
        wait_http(self.pypi + "simple/")

    def _start_verdaccio(self):
        port = harness.free_port()
        config = self.base / "verdaccio.yaml"
        # JSON is YAML. No uplinks: the registry holds only what is published to it; consumers
        # route the @ota-gateway scope here and everything else to their usual registry.
        config.write_text(json.dumps({
            "storage": str(self.base / "verdaccio-storage"),
            "auth": {"htpasswd": {"file": str(self.base / "verdaccio.htpasswd"), "max_users": 1}},
            "uplinks": {},
            "packages": {"@ota-gateway/*": {"access": "$all", "publish": "$authenticated"},
                         "**": {"access": "$all", "publish": "$authenticated"}},
            "log": {"type": "stdout", "format": "pretty", "level": "warn"},
        }))
        self.started.append(harness.Process("verdaccio", [
            ROOT / "node_modules" / ".bin" / "verdaccio", "--config", config,
            "--listen", f"127.0.0.1:{port}"]))
        self.npm = f"http://127.0.0.1:{port}/"
        wait_http(self.npm + "-/ping")
        # What `npm adduser` does: the registry answers with the publisher's token.
        request = urllib.request.Request(
            f"{self.npm}-/user/org.couchdb.user:{self.user}", method="PUT",
            data=json.dumps({"name": self.user, "password": self.password}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            self.npm_token = json.loads(response.read())["token"]
        harness.SECRETS.add(self.npm_token)
        # The publisher's .npmrc, as npm keeps it: the token for this registry's host, read from
        # the environment so the file holds no secret.
        self.npmrc = self.base / "publisher.npmrc"
        self.npmrc.write_text(f"//127.0.0.1:{port}/:_authToken=${{OTA_TEST_NPM_TOKEN}}\n")

    def publish_env(self):
        return {"TWINE_REPOSITORY_URL": self.pypi, "TWINE_USERNAME": self.user,
                "TWINE_PASSWORD": self.password,
                "NPM_CONFIG_REGISTRY": self.npm, "NPM_CONFIG_USERCONFIG": str(self.npmrc),
                "OTA_TEST_NPM_TOKEN": self.npm_token,
                "MAVEN_DEPLOY_REPOSITORY": f"ota-test::{self.maven_repo.as_uri()}",
                "OTA_GO_MODULE": GO_MODULE, "OTA_GO_PROXY_DIR": str(self.go_proxy)}

    def holdings(self):
        """What each registry holds of this version (empty strings for nothing)."""
        try:
            with urllib.request.urlopen(self.pypi + "simple/ota-gateway-client/", timeout=10) as r:
                pypi = r.read().decode()
        except urllib.error.HTTPError:
            pypi = ""
        pypi = "wheel" if f"ota_gateway_client-{VERSION}-py3-none-any.whl" in pypi else ""
        try:
            with urllib.request.urlopen(self.npm + "@ota-gateway%2fclient", timeout=10) as r:
                npm = "tarball" if VERSION in json.loads(r.read()).get("versions", {}) else ""
        except urllib.error.HTTPError:
            npm = ""
        maven = "pom" if (self.maven_repo / MAVEN_ARTIFACT /
                          f"ota-gateway-client-{VERSION}.pom").is_file() else ""
        go = "zip" if (self.go_proxy / GO_MODULE / "@v" / f"v{VERSION}.zip").is_file() else ""
        return {"pypi": pypi, "npm": npm, "maven": maven, "go": go}

    def stop(self):
        for process in reversed(self.started):
            process.stop()


def publish(*args, env):
    """stubs/publish.sh with the given settings; its output is kept in the session's logs."""
    argv = [STUBS / "publish.sh", *args]
    harness.register_secrets(argv, env)
    clean = {k: v for k, v in os.environ.items()
             if not k.upper().startswith(("TWINE_", "NPM_CONFIG_", "MAVEN_DEPLOY", "OTA_GO_"))}
    result = subprocess.run([str(a) for a in argv], cwd=ROOT, env={**clean, **env},
                            capture_output=True, text=True, timeout=900)
    with harness.session_log("publish") as log:
        log.write(f"$ publish.sh {' '.join(args)} -> exit {result.returncode}\n")
        log.write(result.stdout + result.stderr)
    print(f"\n$ stubs/publish.sh {' '.join(args)} -> exit {result.returncode}\n"
          f"{result.stdout}{result.stderr}", flush=True)
    return result


@pytest.fixture(scope="module")
def registries(tmp_path_factory):
    started = Registries(tmp_path_factory.mktemp("registries"))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def published(registries):
    """The three publish runs, in order: dry run, publish, publish again."""
    env = registries.publish_env()
    dry_run = publish("--dry-run", "--no-build", env=env)
    after_dry_run = registries.holdings()
    first = publish("--no-build", env=env)
    after_first = registries.holdings()
    again = publish("--no-build", env=env)
    return {"dry_run": dry_run, "after_dry_run": after_dry_run, "first": first,
            "after_first": after_first, "again": again, "after_again": registries.holdings()}


def require_published(published):
    assert published["first"].returncode == 0, "stubs/publish.sh failed (output above)"


def test_publish_names_each_missing_setting():
    result = publish(env={"TWINE_REPOSITORY_URL": "http://127.0.0.1:9/"})
    assert result.returncode == 2
    for variable in ("NPM_CONFIG_REGISTRY", "MAVEN_DEPLOY_REPOSITORY", "OTA_GO_MODULE",
                     "OTA_GO_PROXY_DIR"):
        assert f"  {variable}: " in result.stderr
    assert "TWINE_REPOSITORY_URL:" not in result.stderr


def test_publish_dry_run_lists_every_package_and_uploads_nothing(published):
    result = published["dry_run"]
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"would publish Python ota-gateway-client {VERSION}" in out
    assert f"would publish npm @ota-gateway/client {VERSION}" in out
    assert f"would publish Maven com.otagateway:ota-gateway-client:{VERSION}" in out
    assert f"would publish Go module {GO_MODULE}@v{VERSION}" in out
    assert "gen/ota/v1/errors.js" in out  # npm's own dry run lists the tarball's files
    assert published["after_dry_run"] == {"pypi": "", "npm": "", "maven": "", "go": ""}


def test_publish_puts_every_package_in_its_registry(published):
    require_published(published)
    assert published["after_first"] == {"pypi": "wheel", "npm": "tarball", "maven": "pom",
                                        "go": "zip"}


def test_republishing_the_same_version_fails_and_says_why(published):
    require_published(published)
    result = published["again"]
    assert result.returncode == 1
    assert f"version {VERSION} is already published" in result.stderr
    for what in (f"ota-gateway-client {VERSION} on", f"@ota-gateway/client {VERSION} on",
                 f"com.otagateway:ota-gateway-client:{VERSION} in",
                 f"Go module {GO_MODULE}@v{VERSION} in"):
        assert what in result.stderr
    assert "registries are immutable, so nothing was published" in result.stderr
    assert published["after_again"] == published["after_first"]


@pytest.mark.parametrize("live", ["PY"], indirect=True)
def test_python_package_from_the_index(live, published, registries, pki, tmp_path):
    require_published(published)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    example = tmp_path / "example"
    shutil.copytree(STUBS / "examples" / "python", example)
    copy_client_pki(pki, example)
    # The ordinary command, pointed at the company index (which sends the rest on to PyPI).
    assert run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                "--index-url", registries.pypi + "simple/", "-r", "requirements.txt",
                f"ota-gateway-client=={VERSION}"], cwd=example) == 0
    # Typed: mypy --strict accepts the README's usage and rejects a wrongly typed request.
    mypy = [python, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", tmp_path / "mypy"]
    assert run([*mypy, "typed_usage.py"], cwd=example) == 0
    (example / "mistyped.py").write_text(
        "from ota_gateway_client.v1 import ota_strategy_service_pb2 as ota_pb\n"
        "ota_pb.CancelByJobRequest(job_id=42)\n")
    mistyped = subprocess.run([str(a) for a in mypy] + ["mistyped.py"], cwd=example,
                              capture_output=True, text=True)
    print(mistyped.stdout, flush=True)
    assert mistyped.returncode == 1 and '"job_id"' in mistyped.stdout
    assert run([python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "test_live_python.py"],
               cwd=example, env=live) == 0


@pytest.mark.parametrize("live", ["GO"], indirect=True)
def test_go_module_from_the_module_proxy(live, published, registries, pki, tmp_path):
    require_published(published)
    example = tmp_path / "example"
    shutil.copytree(STUBS / "examples" / "go", example)
    copy_client_pki(pki, example)
    cache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True,
                           check=True).stdout.strip()
    # As a company sets it: its proxy first, then the public one; no checksum database for its
    # own modules. A module cache of this run alone, so a module published by an earlier run under
    # the same version cannot stand in for this one; the machine's cache serves the other modules
    # (its download folder is in proxy layout).
    env = {**live, "GOPROXY": f"{registries.go_proxy.as_uri()},"
                              f"{Path(cache, 'cache', 'download').as_uri()},https://proxy.golang.org",
           "GONOSUMDB": GO_MODULE, "GOMODCACHE": str(tmp_path / "gomodcache"),
           "GOFLAGS": "-modcacherw", "GOTOOLCHAIN": "local"}
    assert run(["go", "get", f"{GO_MODULE}@v{VERSION}"], cwd=example, env=env) == 0
    assert run(["go", "mod", "tidy"], cwd=example, env=env) == 0
    assert run(["go", "test", "-count=1", "-v", "./..."], cwd=example, env=env) == 0


@pytest.mark.parametrize("live", ["JAVA"], indirect=True)
def test_java_package_from_the_maven_repository(live, published, registries, pki, tmp_path):
    require_published(published)
    # The jar must come from the repository: drop a copy an earlier local build left behind.
    local = Path.home() / ".m2" / "repository" / MAVEN_ARTIFACT
    shutil.rmtree(local, ignore_errors=True)
    example = tmp_path / "example"
    shutil.copytree(STUBS / "examples" / "java", example,
                    ignore=shutil.ignore_patterns("target"))
    copy_client_pki(pki, example)
    assert run(["mvn", "-B", "-ntp", "-Dstyle.color=never", "test", f"-Drevision={VERSION}",
                f"-Dota.repository.url={registries.maven_repo.as_uri()}"],
               cwd=example, env=live) == 0
    assert "ota-internal" in (local / "_remote.repositories").read_text()


@pytest.mark.parametrize("live", ["NODE"], indirect=True)
def test_node_package_from_the_npm_registry(live, published, registries, pki, tmp_path):
    require_published(published)
    example = tmp_path / "example"
    shutil.copytree(STUBS / "examples" / "node", example,
                    ignore=shutil.ignore_patterns("node_modules"))
    copy_client_pki(pki, example)
    # The company's scope goes to its registry, everything else to the usual one.
    (example / ".npmrc").write_text(f"@ota-gateway:registry={registries.npm}\n")
    npm = ["npm", "--no-audit", "--no-fund", "--loglevel=error"]
    assert run([*npm, "ci"], cwd=example) == 0
    assert run([*npm, "install", f"@ota-gateway/client@{VERSION}"], cwd=example) == 0
    lock = json.loads((example / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@ota-gateway/client"]["version"] == VERSION
    # TypeScript callers: the tsconfig `tsc --init` writes, with the one change the package README
    # asks for ("types": ["node"]), compiles the README's usage against the package's .d.ts (the
    # project is ESM, "type": "module", as the README also asks).
    assert run(["npx", "--no-install", "tsc", "--init"], cwd=example) == 0
    tsconfig = (example / "tsconfig.json").read_text()
    assert '"types": [],' in tsconfig
    (example / "tsconfig.json").write_text(tsconfig.replace('"types": [],', '"types": ["node"],'))
    assert run(["npx", "--no-install", "tsc", "-p", "."], cwd=example) == 0  # live.test.js imports it
    assert run(["node", "--test"], cwd=example, env=live) == 0

@pytest.mark.parametrize("live", ["CPP"], indirect=True)
def test_cpp_package_from_find_package(live, tmp_path):
    # The main build installs the client component into a fresh prefix; a copy of the example,
    # outside the tree, finds it with find_package(OtaGateway) and links ota_gateway::client.
    build = harness.BUILD_DIR
    assert run(["cmake", "--build", build, "--target", "ota_client"], cwd=ROOT) == 0
    prefix = tmp_path / "prefix"
    assert run(["cmake", "--install", build, "--component", "ota_gateway_client", "--prefix", prefix],
               cwd=ROOT) == 0
    # lib/ or lib/<multiarch>/, whichever GNUInstallDirs chose for the build's prefix.
    package_files = list(prefix.glob("lib*/**/cmake/OtaGateway/*.cmake"))
    assert "ota_gateway::client" in "".join(f.read_text() for f in package_files)
    # Relocatable: nothing installed may point back into the source or build tree.
    for package_file in package_files:
        text = package_file.read_text()
        assert str(ROOT) not in text and str(build) not in text, package_file
    example = tmp_path / "example"
    shutil.copytree(STUBS / "examples" / "cpp", example)
    out = tmp_path / "example-build"
    assert run(["cmake", "-S", example, "-B", out, "-G", "Ninja", f"-DCMAKE_PREFIX_PATH={prefix}"],
               cwd=example) == 0
    assert run(["cmake", "--build", out], cwd=example) == 0

    def cancel(target, job_id, *timeout_ms):
        result = subprocess.run([out / "ota-cancel-example", target, job_id, *timeout_ms],
                                capture_output=True, text=True, timeout=60)
        print(f"ota-cancel-example {job_id} -> exit {result.returncode}: {result.stdout.strip()}"
              f"{result.stderr.strip()}", flush=True)
        return result.returncode, result.stdout.strip()

    code, printed = cancel(live["OTA_TARGET"], live["OTA_DYNAMIC_JOB"])
    assert code == 0 and printed.startswith("request_id=") and len(printed) > len("request_id=")
    assert printed.endswith(" outcome=CANCEL_OUTCOME_CANCELLED"), printed
    request_id = printed.split()[0]
    code, printed = cancel(live["OTA_TARGET"], live["OTA_DYNAMIC_JOB"])
    assert code == 0 and printed == f"{request_id} outcome=CANCEL_OUTCOME_ALREADY_CANCELLED", printed

    code, printed = cancel(live["OTA_TARGET"], "NO-SUCH-JOB-CPP")
    assert code == 1 and printed.startswith("NOT_FOUND: ")
    assert "alibaba_code=iot.ota.OtaJobNotExist" in printed
    assert "domain=iot.aliyuncs.com" in printed and "alibaba_request_id=" in printed
    assert printed.endswith("known_reason=ERROR_REASON_JOB_NOT_FOUND")

    code, printed = cancel(live["OTA_TARGET"], "bad id!")
    assert code == 1 and printed.startswith("INVALID_ARGUMENT: ")
    assert "domain=ota-gateway" in printed and "field_violations=[job_id: " in printed

    # The limited gateway's single token goes to the first call; the second cannot be served
    # within its 300 ms deadline.
    code, printed = cancel(live["OTA_LIMITED_TARGET"], live["OTA_LIMITED_JOB"])
    assert code == 0 and printed.startswith("request_id=")
    code, printed = cancel(live["OTA_LIMITED_TARGET"], "ANY-JOB-CPP", "300")
    assert code == 1 and printed.startswith("RESOURCE_EXHAUSTED: ")
    assert "reason=RATE_LIMITED" in printed and "known_reason=ERROR_REASON_RATE_LIMITED" in printed
    retry_after = re.search(r"retry_after=(\S+)", printed)
    assert retry_after and retry_after.group(1).rstrip(")") not in ("0", "0s")

    # ListJobsByFirmware through the generated stub, 10 batches a page (ota-list-jobs-example).
    def list_jobs(firmware_id, *page_size):
        result = subprocess.run([out / "ota-list-jobs-example", live["OTA_TARGET"], firmware_id,
                                 *page_size], capture_output=True, text=True, timeout=60)
        print(f"ota-list-jobs-example {firmware_id} -> exit {result.returncode}:\n"
              f"{result.stdout}{result.stderr}", flush=True)
        return result.returncode, result.stdout.splitlines()

    code, lines = list_jobs(live["OTA_FIRMWARE_ID"], "10")
    assert code == 0
    count = int(live["OTA_FIRMWARE_JOB_COUNT"])
    pages = [dict(re.findall(r"(\w+)=(\S*)", line)) for line in lines if line.startswith("page=")]
    assert [p["jobs"] for p in pages] == [str(min(10, count - n)) for n in range(0, count, 10)]
    assert {p["total_size"] for p in pages} == {str(count)}
    assert [p["next_page_token"] for p in pages] == ["yes"] * (len(pages) - 1) + ["no"]
    jobs = {job["job_id"]: job for job in
            (dict(re.findall(r"(\w+)=(\S*)", line)) for line in lines if line.startswith("job_id="))}
    assert len(jobs) == count
    static, finished = live["OTA_FIRMWARE_STATIC_JOB"], live["OTA_FIRMWARE_FINISHED_JOB"]
    assert jobs[static]["selection_type"] == "SELECTION_TYPE_STATIC"
    assert jobs[finished]["job_status"] == "JOB_STATUS_COMPLETED"
    for job_id, job in jobs.items():
        assert job["firmware_id"] == live["OTA_FIRMWARE_ID"] and job["job_type"] != "JOB_TYPE_UNSPECIFIED"
        if job_id not in (static, finished):
            assert job["selection_type"] == "SELECTION_TYPE_DYNAMIC", job
            assert job["job_status"] in ("JOB_STATUS_PLANNED", "JOB_STATUS_IN_PROGRESS"), job
        # google.protobuf.Timestamp printed by protobuf's TimeUtil (RFC 3339, UTC).
        created = datetime.fromisoformat(job["create_time"].replace("Z", "+00:00"))
        assert datetime.now(timezone.utc) - timedelta(days=3650) < created <= datetime.now(timezone.utc)

    code, lines = list_jobs("")
    assert code == 1 and lines[0].startswith("INVALID_ARGUMENT: ")
    assert "field_violations=[firmware_id: " in lines[0]
    assert lines[0].endswith("known_reason=ERROR_REASON_INVALID_FIRMWARE_ID")


def test_descriptor_set_serves_grpcurl_without_reflection(processes):
    protoset = BUILD / "ota-v1.protoset"
    assert protoset.is_file(), f"{protoset} missing: run stubs/generate.sh"
    emulator = harness.Emulator("--job=JOB-PROTOSET=dynamic")
    processes.append(emulator)
    gateway = harness.Gateway(emulator)
    processes.append(gateway)
    described = harness.grpcurl("-protoset", protoset, "describe", "ota.v1.OtaStrategyService")
    assert described.returncode == 0, described.stderr
    assert "rpc CancelByJob ( .ota.v1.CancelByJobRequest )" in described.stdout
    called = harness.grpcurl("-plaintext", "-protoset", protoset, "-max-time", "20",
                             "-d", '{"job_id": "JOB-PROTOSET"}', gateway.target,
                             "ota.v1.OtaStrategyService/CancelByJob")
    assert called.returncode == 0, called.stderr
    assert '"requestId"' in called.stdout

    # ListJobsByFirmware, every page: the protoset carries google/protobuf/timestamp.proto, so
    # grpcurl prints create_time as RFC 3339 and the enums by name.
    assert "rpc ListJobsByFirmware ( .ota.v1.ListJobsByFirmwareRequest )" in described.stdout
    count = int(DEMO_FIRMWARE["OTA_FIRMWARE_JOB_COUNT"])
    jobs, token = {}, ""
    for page_number in range(1, 10):
        request = {"firmware_id": DEMO_FIRMWARE["OTA_FIRMWARE_ID"], "page_size": 10,
                   "page_token": token}
        listed = harness.grpcurl("-plaintext", "-protoset", protoset, "-max-time", "20",
                                 "-d", json.dumps(request), gateway.target,
                                 "ota.v1.OtaStrategyService/ListJobsByFirmware")
        assert listed.returncode == 0, listed.stderr
        page = json.loads(listed.stdout)
        assert page["totalSize"] == count and len(page["jobs"]) == min(10, count - len(jobs))
        jobs.update((job["jobId"], job) for job in page["jobs"])
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert page_number == (count + 9) // 10 and len(jobs) == count
    assert jobs[DEMO_FIRMWARE["OTA_FIRMWARE_STATIC_JOB"]]["selectionType"] == "SELECTION_TYPE_STATIC"
    assert jobs[DEMO_FIRMWARE["OTA_FIRMWARE_FINISHED_JOB"]]["jobStatus"] == "JOB_STATUS_COMPLETED"
    for job in jobs.values():
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", job["createTime"]), job


def buf_breaking(proto_dir):
    released = STUBS / "released" / f"ota-v1-{released_version()}.binpb"
    return subprocess.run(["npx", "--no-install", "buf", "breaking", str(proto_dir), "--against",
                           str(released)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def released_version():
    return (STUBS / "released" / "LATEST").read_text().strip()


def test_contract_is_compatible_with_the_last_release():
    result = buf_breaking(ROOT / "proto")
    assert result.returncode == 0, result.stdout + result.stderr


def test_buf_breaking_catches_an_incompatible_change(tmp_path):
    # The same check on a copy of the contract with a field renumbered must fail, or the gate above
    # proves nothing.
    copy = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", copy)
    contract = copy / "ota" / "v1" / "ota_strategy_service.proto"
    text = contract.read_text()
    assert "string job_id = 1;" in text
    contract.write_text(text.replace("string job_id = 1;", "string job_id = 3;"))
    result = buf_breaking(copy)
    assert result.returncode != 0
    assert "job_id" in result.stdout + result.stderr


def test_grpc_python_adapter_emits_what_grpc_tools_protoc_emits(tmp_path):
    # buf runs grpcio-tools' grpc_python generator through stubs/python/protoc_gen_grpc_python.py;
    # its output must be byte-identical to running grpcio-tools' protoc directly on the same input,
    # the contract staged at ota_gateway_client/v1/ by stubs/generate.sh.
    generated = STUBS / "python/src/ota_gateway_client/v1/ota_strategy_service_pb2_grpc.py"
    assert generated.is_file(), f"{generated} missing: run stubs/generate.sh"
    staged = BUILD / "python-proto"
    direct = subprocess.run([ROOT / ".tools" / "stubs-python" / "bin" / "python", "-m",
                             "grpc_tools.protoc", f"-I{staged}", f"--grpc_python_out={tmp_path}",
                             "ota_gateway_client/v1/ota_strategy_service.proto"],
                            capture_output=True, text=True)
    assert direct.returncode == 0, direct.stderr
    expected = (tmp_path / "ota_gateway_client/v1/ota_strategy_service_pb2_grpc.py").read_text()
    assert "class OtaStrategyServiceStub" in expected
    assert "from ota_gateway_client.v1 import ota_strategy_service_pb2" in expected
    assert generated.read_text() == expected
    # The staged copy is the contract itself, only at another path.
    assert (staged / "ota_gateway_client/v1/ota_strategy_service.proto").read_text() == \
        (ROOT / "proto/ota/v1/ota_strategy_service.proto").read_text()


def test_breaking_change_needs_a_major_version(tmp_path):
    # stubs/contract_version.py on a copy of stubs/ whose contract renumbers a field: refused at
    # the current major version, accepted at the next one with its changelog section.
    sys.path.insert(0, str(STUBS))
    import contract_version
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    shutil.copytree(STUBS / "released", stubs / "released")
    shutil.copy(STUBS / "CHANGELOG.md", stubs / "CHANGELOG.md")
    shutil.copy(STUBS / "VERSION", stubs / "VERSION")
    copy = tmp_path / "proto"
    shutil.copytree(ROOT / "proto", copy)
    contract = copy / "ota" / "v1" / "ota_strategy_service.proto"
    contract.write_text(contract.read_text().replace("string job_id = 1;", "string job_id = 3;"))

    found, _ = contract_version.problems(ROOT / "proto", stubs)
    assert found == []
    found, _ = contract_version.problems(copy, stubs)
    assert len(found) == 1 and "needs a new major version" in found[0] and "job_id" in found[0]

    major = int(VERSION.split(".")[0]) + 1
    (stubs / "VERSION").write_text(f"{major}.0.0\n")
    found, _ = contract_version.problems(copy, stubs)
    assert found == [f"stubs/CHANGELOG.md has no section '## {major}.0.0' saying what it adds"]
    (stubs / "CHANGELOG.md").write_text(f"## {major}.0.0\n\n- job_id renumbered\n")
    found, notes = contract_version.problems(copy, stubs)
    assert found == [] and "major version bumped" in notes[0]


def reasons_in_gateway_sources():
    """Every ErrorInfo.reason string the gateway's (non-test) C++ sources can send: the UPPER_SNAKE
    string literals of statements that set a reason (GatewayError(...), `reason = ...`,
    set_reason(...)), build an error-mapping Rule ({StatusCode::k..., "REASON", retryable, ...}),
    or name each request field's reason for the request validator (InvalidRequest(violations,
    {{"field", "REASON"}, ...}))."""
    found = set()
    literal = r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)"'
    for source in sorted((ROOT / "server").rglob("*")):
        if source.suffix not in (".cc", ".h") or re.search(r"(_test|^fake_)", source.stem):
            continue
        text = re.sub(r"//[^\n]*", "", source.read_text())
        for statement in text.split(";"):
            if re.search(r"\bGatewayError\(|\breason\s*=|set_reason\(|\bInvalidRequest\(", statement):
                found.update(re.findall(literal, statement))
            found.update(re.findall(r"StatusCode::k\w+,\s*" + literal + r",\s*(?:true|false)\b",
                                    statement))
    return found


def test_error_reason_enum_lists_exactly_the_reasons_the_gateway_sends():
    contract = (ROOT / "proto" / "ota" / "v1" / "ota_strategy_service.proto").read_text()
    body = re.search(r"enum ErrorReason \{(.*?)\n\}", contract, re.DOTALL).group(1)
    enum = {name for name in re.findall(r"^\s*ERROR_REASON_(\w+) = \d+;", body, re.MULTILINE)}
    sent = reasons_in_gateway_sources()
    assert {"RATE_LIMITED", "CALLER_UNAUTHENTICATED", "CALLER_NOT_ALLOWED", "UNSPECIFIED"} <= sent
    assert sorted(enum - sent) == [] and sorted(sent - enum) == []


def test_generated_reason_constants_match_the_enum():
    # Each package's constants, as generated into this checkout by stubs/generate.sh.
    contract = (ROOT / "proto" / "ota" / "v1" / "ota_strategy_service.proto").read_text()
    enum = re.findall(r"^\s*ERROR_REASON_(\w+) = \d+;", contract, re.MULTILINE)
    generated = {
        "python": STUBS / "python/src/ota_gateway_client/v1/errors.py",
        "node": STUBS / "node/gen/ota/v1/errors.js",
        "java": STUBS / "java/src/main/java/com/otagateway/ota/v1/ErrorInfoConstants.java",
        "go": STUBS / "go/ota/v1/errors.go",
    }
    for language, path in generated.items():
        values = re.findall(r'(?:REASON_|Reason)\w+(?:: Final)? = "(\w+)"', path.read_text())
        assert values == enum, language
        assert '"ota-gateway"' in path.read_text() and '"iot.aliyuncs.com"' in path.read_text()


def test_go_directive_is_the_lowest_the_generated_code_builds_with(tmp_path):
    module = tmp_path / "module"
    shutil.copytree(STUBS / "go", module)
    go_mod = (module / "go.mod").read_text()
    major, minor = map(int, re.search(r"^go (\d+)\.(\d+)$", go_mod, re.MULTILINE).groups())
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    built = subprocess.run(["go", "build", "./..."], cwd=module, env=env, capture_output=True,
                           text=True)
    assert built.returncode == 0, built.stderr
    (module / "go.mod").write_text(go_mod.replace(f"go {major}.{minor}\n",
                                                  f"go {major}.{minor - 1}\n"))
    lower = subprocess.run(["go", "build", "./..."], cwd=module, env=env, capture_output=True,
                           text=True)
    assert lower.returncode != 0 and f"requires go{major}.{minor}" in lower.stderr
    assert f"Go {major}.{minor} or later" in (STUBS / "go" / "README.md").read_text()


def test_no_configured_secret_reached_a_log():
    # Last in this file: the registry password and npm token, the publish runs' output and every
    # process's output of this session, as tests/e2e's session check does it.
    leaks = harness.secret_scan.find_leaks(
        harness.secret_scan.log_files(harness.LOG_DIR) + harness.EXTRA_LOGS, harness.SECRETS)
    assert not leaks, harness.secret_scan.describe(leaks)
