"""Shared fixtures for the end-to-end suites: real iot-emulator and ota-gateway processes on
loopback, driven with the real grpcurl and ota-cancel binaries.

Paths come from the environment that ctest sets (OTA_BUILD_DIR, OTA_GRPCURL); defaults suit a
developer running `pytest tests/e2e` from the repository root after scripts/setup.sh.
"""
import itertools
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import secret_scan

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("OTA_BUILD_DIR", ROOT / "build"))
GRPCURL = os.environ.get("OTA_GRPCURL", str(ROOT / ".tools" / "bin" / "grpcurl"))

# The emulator's public demo key (demo_credentials/demo_credentials.h): not a secret.
DEMO_KEY_ID = "EMULATORDEMOKEYID0001"

# HOME for gateways: no credential profile files.
EMPTY_HOME = tempfile.mkdtemp(prefix="ota-e2e-home-")
# Secret-leak check (secret_scan.py): every process's output is also kept in this session's log
# folder, every secret the suites configure is registered in SECRETS (the wrappers below do it from
# arguments and environment), and at the end of the session no log may contain one.
(BUILD_DIR / "e2e-logs").mkdir(parents=True, exist_ok=True)
LOG_DIR = Path(os.environ.get("OTA_E2E_LOG_DIR") or
               tempfile.mkdtemp(prefix="session-", dir=BUILD_DIR / "e2e-logs"))
LOG_DIR.mkdir(parents=True, exist_ok=True)
SECRETS = {secret_scan.demo_secret()}
EXTRA_LOGS = []  # logs processes write themselves (--audit-log)
_log_numbers = itertools.count(1)


def session_log(name):
    """A new file in this session's log folder."""
    return open(LOG_DIR / f"{next(_log_numbers):03d}-{name}.log", "w", encoding="utf-8")


def register_secrets(argv, env=None):
    SECRETS.update(secret_scan.secrets_in(argv, env))
    EXTRA_LOGS.extend(secret_scan.log_files_in(argv))


def pytest_sessionfinish(session, exitstatus):
    leaks = secret_scan.find_leaks(secret_scan.log_files(LOG_DIR) + EXTRA_LOGS, SECRETS)
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(f"SECRET LEAK: configured secrets found in logs of this session:\n"
                            f"{secret_scan.describe(leaks)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A child process whose output is collected in the background."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.lines = []
        self._cond = threading.Condition()
        register_secrets(self.argv, env)
        self._log = session_log(name)
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", env={**os.environ, **(env or {})})
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self._log.write(line)
            self._log.flush()
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        self._log.close()
        with self._cond:
            self._cond.notify_all()

    def output(self):
        with self._cond:
            return "\n".join(self.lines)

    def wait_for_line(self, needle, timeout=20):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                if self.proc.poll() is not None:
                    raise AssertionError(f"{self.name} exited ({self.proc.returncode}) before "
                                         f"printing {needle!r}:\n{self.output()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.name} did not print {needle!r}:\n{self.output()}")
                self._cond.wait(left)

    def log_records(self):
        """The JSON log lines the process wrote."""
        records = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return records

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Emulator(Process):
    """With --tls-cert=..., the emulator serves HTTPS and `url` is https (that file is trusted).
    `launcher` (a subclass's) is put before the binary, e.g. ["nice", "-n", "-10"]."""

    launcher = ()

    def __init__(self, *args, env=None):
        self.port = free_port()
        super().__init__("iot-emulator", [*self.launcher, BUILD_DIR / "emulator" / "iot-emulator",
                                          f"--listen=127.0.0.1:{self.port}", *args], env)
        self.wait_for_line("iot-emulator listening on")
        cert = next((a.split("=", 1)[1] for a in map(str, args) if a.startswith("--tls-cert=")),
                    None)
        self.tls = None if cert is None else ssl.create_default_context(cafile=cert)
        self.url = f"{'http' if cert is None else 'https'}://127.0.0.1:{self.port}/"

    def _control(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path.lstrip("/"), data=data,
                                     method="GET" if data is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10, context=self.tls) as resp:
            return json.loads(resp.read() or b"null")

    def calls(self):
        return self._control("/_emulator/calls")

    def set_faults(self, **faults):
        return self._control("/_emulator/faults", faults)


def make_tls_files(directory):
    """A throwaway self-signed certificate for 127.0.0.1 and its key: (cert path, key path)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


# How the suites reach the gateway unless a test says otherwise: plaintext, callers unchecked.
INSECURE_FLAGS = ("--plaintext", "--allow-unauthenticated")


class Gateway(Process):
    """`security` replaces INSECURE_FLAGS, e.g. with --tls-cert-file=... --callers-file=..."""

    def __init__(self, emulator, *args, env=None, emulator_mode=True, wait=True,
                 security=INSECURE_FLAGS):
        self.port = free_port()
        argv = [BUILD_DIR / "server" / "ota-gateway", f"--listen=127.0.0.1:{self.port}",
                *security]
        if emulator_mode:
            argv.append("--emulator")
        if emulator is not None:
            argv.append(f"--endpoint={emulator.url}")
        # Credentials come only from what the test passes, never from the developer's shell or
        # profile files (the credential chain reads ~/.aliyun and ~/.alibabacloud: HOME is empty).
        clean_env = {k: "" for k in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                                     "ALIBABA_CLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_ROLE_ARN",
                                     "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
                                     "ALIBABA_CLOUD_OIDC_TOKEN_FILE", "ALIBABA_CLOUD_PROFILE",
                                     "ALIBABA_CLOUD_CONFIG_FILE", "ALIBABA_CLOUD_CREDENTIALS_FILE",
                                     "ALIBABA_CLOUD_ECS_METADATA")}
        clean_env["HOME"] = EMPTY_HOME
        super().__init__("ota-gateway", argv + list(args), {**clean_env, **(env or {})})
        self.target = f"127.0.0.1:{self.port}"
        if wait:
            self.wait_for_line("ota-gateway serving")


def _recorded(name, argv, timeout):
    """Runs a client to completion; its output goes to the session's logs as well."""
    register_secrets(argv)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    with session_log(name) as log:
        log.write(result.stdout + result.stderr)
    return result


def grpcurl(*args, timeout=60):
    return _recorded("grpcurl", [GRPCURL, *map(str, args)], timeout)


def ota_cancel(*args, timeout=60):
    return _recorded("ota-cancel", [str(BUILD_DIR / "client" / "ota-cancel"), *map(str, args)],
                     timeout)


@pytest.fixture
def processes():
    """Collects started processes and stops them after the test, printing their output on failure."""
    started = []
    yield started
    for p in reversed(started):
        p.stop(signal.SIGKILL if p.proc.poll() is None and p.name == "iot-emulator" else signal.SIGTERM)


@pytest.fixture
def emulator(processes):
    emu = Emulator("--job=JOB-DYN-1=dynamic", "--job=JOB-DYN-2=dynamic", "--job=JOB-STATIC=static",
                   "--job=JOB-DONE=finished", "--job=JOB-INST=dynamic@iot-inst-1",
                   "--iot-instance=iot-inst-1")
    processes.append(emu)
    return emu


@pytest.fixture
def gateway(processes, emulator):
    gw = Gateway(emulator)
    processes.append(gw)
    return gw
