"""Secrets never leak into what the programs print.

Every suite's session ends with conftest.py scanning all the logs it produced for the secrets it
configured (secret_scan.py). This suite proves that scan can fail, and checks the output no suite
otherwise looks at: --help/--helpfull and the errors for bad flags and bad configuration, with
secrets set in the environment the way operators are told to set them.
"""
import os
import subprocess
import sys
import textwrap

import pytest

import secret_scan
from conftest import BUILD_DIR, SECRETS, session_log

GATEWAY = BUILD_DIR / "server" / "ota-gateway"

# What an operator puts in the environment; each one must stay out of every line printed.
ENV_SECRETS = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tLeakTestKeyId",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "AkSecret-leak-test-3f9a1c",
    "ALIBABA_CLOUD_SECURITY_TOKEN": "StsToken-leak-test-7d2e55",
    "OTA_REDIS_PASSWORD": "s3cret-redis-pw-41b8",
    "OTA_REDIS_URL": "redis://:url-redis-pw-9c0d@127.0.0.1:6379/0",
}
SECRET_VALUES = secret_scan.secrets_in([ENV_SECRETS["OTA_REDIS_URL"]], ENV_SECRETS)


def run_gateway(*args, extra_env=None):
    """Runs ota-gateway to completion with the secrets in its environment; stdout + stderr."""
    SECRETS.update(SECRET_VALUES)  # the session-end scan covers this output too
    env = {**os.environ, **ENV_SECRETS, **(extra_env or {})}
    result = subprocess.run([str(GATEWAY), *args], capture_output=True, text=True, timeout=30,
                            env=env)
    output = result.stdout + result.stderr
    with session_log("ota-gateway-" + "-".join(a.lstrip("-").split("=")[0] for a in args)) as log:
        log.write(output)
    return result.returncode, output


def shown_secrets(output):
    """The secrets in `output`, masked: a failing assertion must not print them either."""
    return sorted(secret_scan.mask(s) for s in SECRET_VALUES if s in output)


def test_environment_secrets_are_recognised():
    assert SECRET_VALUES == {"AkSecret-leak-test-3f9a1c", "StsToken-leak-test-7d2e55",
                             "s3cret-redis-pw-41b8", "url-redis-pw-9c0d"}


def test_scanner_finds_planted_secrets_in_every_form(tmp_path):
    secret = "pl4nted/secret+value"
    log = tmp_path / "process.log"
    log.write_text("starting\n"
                   f"raw {secret}\n"
                   "url-encoded pl4nted%2Fsecret%2Bvalue\n"
                   '{"json":"x"}\n')
    audit = tmp_path / "audit.jsonl"
    audit.write_text('{"caller":"c"}\n{"token":"pl4nted/secret+value"}\n')
    leaks = secret_scan.find_leaks([log, audit, tmp_path / "missing.log"], {secret, "short"})
    assert [(p.name, line) for p, line, _ in leaks] == [("process.log", 2), ("process.log", 3),
                                                         ("audit.jsonl", 2)]
    report = secret_scan.describe(leaks)
    assert secret not in report and "pl...(20 chars)" in report
    assert secret_scan.find_leaks([log], {"not-in-there-123"}) == []


def test_secrets_are_collected_from_arguments_and_environment():
    found = secret_scan.secrets_in(
        ["--access-key=KEYID1:emu-secret-1:acct-1:emu-sts-token-1", "--access-key=K2:emu-secret-2",
         "--redis-url=rediss://user:p%40ss-word@redis:6380/0", "-H",
         "authorization: Bearer bearer-token-xyz", "--audit-log=/tmp/a.jsonl", "--qps=10"],
        {"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "env-secret-1", "OTA_LISTEN": "127.0.0.1:1",
         "ALIBABA_CLOUD_SECURITY_TOKEN": ""})
    assert found == {"emu-secret-1", "emu-sts-token-1", "emu-secret-2", "p@ss-word",
                     "bearer-token-xyz", "env-secret-1"}
    assert secret_scan.log_files_in(["--audit-log=/tmp/a.jsonl", "--audit-log", "/tmp/b"]) == [
        secret_scan.Path("/tmp/a.jsonl"), secret_scan.Path("/tmp/b")]


@pytest.mark.parametrize("leak", [True, False])
def test_a_session_with_a_leak_fails(tmp_path, leak):
    """The session-end scan, run for real: a process that prints a registered secret fails the
    pytest session even though every test in it passed."""
    suite = tmp_path / "test_planted.py"
    suite.write_text(textwrap.dedent(f"""
        from conftest import Process

        def test_prints():
            p = Process("printer",
                        ["sh", "-c", "echo value: {'$MY_SECRET' if leak else 'none'}; sleep 30"],
                        env={{"MY_SECRET": "planted-secret-5e1f"}})
            p.wait_for_line("value:")
            p.stop()
        """))
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {**os.environ, "OTA_E2E_LOG_DIR": str(logs),
           "PYTHONPATH": os.pathsep.join([str(secret_scan.ROOT / "tests" / "e2e"),
                                          os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "-p", "conftest", str(suite)], capture_output=True, text=True,
                            timeout=120, env=env, cwd=tmp_path)
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    if leak:
        assert result.returncode == 1, result.stdout
        assert "SECRET LEAK" in result.stdout and "001-printer.log:1" in result.stdout
        assert "planted-secret-5e1f" not in result.stdout  # the report masks it
    else:
        assert result.returncode == 0, result.stdout
        assert "SECRET LEAK" not in result.stdout


@pytest.mark.parametrize("flag", ["--help", "--helpfull"])
def test_help_never_shows_secrets(flag):
    code, output = run_gateway(flag)
    assert "ota-gateway" in output, output
    assert shown_secrets(output) == []
    assert code == 0
    assert "--redis-url=URL" in output  # the flag that may carry a password is listed
    # Help is answered before the environment is read: it shows defaults, never the configured
    # URL, masked or not.
    assert "redis://***@" not in output and "@127.0.0.1:6379" not in output


@pytest.mark.parametrize("args,extra_env", [
    (["--no-such-flag"], {}),
    (["--qps=abc"], {}),
    (["--limiter=redis", "--redis-url=redis://:url-redis-pw-9c0d@/0", "--listen=127.0.0.1:0"], {}),
    (["--limiter=redis", "--redis-url=redis://:url-redis-pw-9c0d@h:port/0",
      "--listen=127.0.0.1:0"], {}),
    (["--limiter=redis", "--listen=127.0.0.1:0"], {"OTA_REDIS_URL": "redis://:url-redis-pw-9c0d@"}),
    (["--endpoint=https://user:AkSecret-leak-test-3f9a1c@iot.example.com/",
      "--listen=127.0.0.1:0"], {}),
    (["--signature-version=v9", "--listen=127.0.0.1:0"], {}),
    (["--listen=127.0.0.1:0"], {"ALIBABA_CLOUD_ACCESS_KEY_ID": ""}),  # half a key pair
])
def test_errors_for_bad_flags_never_show_secrets(args, extra_env):
    code, output = run_gateway(*args, extra_env=extra_env)
    assert code != 0, output
    assert shown_secrets(output) == []
