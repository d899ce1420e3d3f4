"""Finds configured secrets in the logs a test session produced.

The end-to-end suites register every secret they configure (AccessKey secrets, STS security
tokens, Redis passwords, bearer tokens) with the wrappers in conftest.py, which also keep every
process's output on disk; at the end of the session conftest.py calls `find_leaks` over all of it
and fails the session on a match. The emulator's public demo secret is always on the list: it is
fake, but the gateway signs with it in emulator mode, so seeing it in a log means the code path
that prints a secret exists.

    leaks = find_leaks(log_files(log_dir), {"s3cret"})
    assert not leaks, describe(leaks)
"""
import re
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Shorter values ("x", "1") would match everywhere and prove nothing; the suites use long ones.
MIN_SECRET_LENGTH = 6


def demo_secret():
    """kDemoAccessKeySecret, read from demo_credentials/demo_credentials.h so the two never drift."""
    header = (ROOT / "demo_credentials" / "demo_credentials.h").read_text()
    return re.search(r'kDemoAccessKeySecret\s*=\s*"([^"]+)"', header).group(1)


# Environment variables whose values are secrets, by name.
_SECRET_ENV = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD)", re.IGNORECASE)


def secrets_in(argv, env=None):
    """The secrets a process is configured with through its arguments and environment.

    Recognised: iot-emulator's --access-key=ID:SECRET[:ACCOUNT[:STS_TOKEN]], the password of any
    URL with userinfo (e.g. --redis-url=redis://:PASSWORD@host), bearer tokens in header arguments
    ("authorization: Bearer TOKEN", as grpcurl -H takes them), and every environment variable
    named like a secret (ALIBABA_CLOUD_ACCESS_KEY_SECRET, ALIBABA_CLOUD_SECURITY_TOKEN,
    OTA_REDIS_PASSWORD, ...).
    """
    found = set()
    for arg in map(str, argv):
        if arg.startswith("--access-key="):
            parts = arg.split("=", 1)[1].split(":")
            found.update(parts[1:2])  # the secret
            found.update(parts[3:4])  # the STS token
        for match in re.finditer(r"[a-z][a-z0-9+.-]*://([^/?#\s]*)@", arg):
            password = match.group(1).partition(":")[2]
            found.add(urllib.parse.unquote(password))
        bearer = re.search(r"(?i)authorization\s*:\s*bearer\s+(\S+)", arg)
        if bearer:
            found.add(bearer.group(1))
    for name, value in (env or {}).items():
        if not value or not _SECRET_ENV.search(name):
            continue
        if name.endswith("_FILE"):
            # A path to a secret (ALIBABA_CLOUD_OIDC_TOKEN_FILE): the path may be logged, what
            # the file holds may not.
            try:
                found.add(Path(value).read_text(encoding="utf-8").strip())
            except OSError:
                pass
        else:
            found.add(value)
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH}


def log_files_in(argv):
    """Files a process writes its own logs to, named by its arguments (--audit-log)."""
    argv = list(map(str, argv))
    files = []
    for i, arg in enumerate(argv):
        if arg.startswith("--audit-log=") or arg.startswith("--audit_log="):
            files.append(Path(arg.split("=", 1)[1]))
        elif arg in ("--audit-log", "--audit_log") and i + 1 < len(argv):
            files.append(Path(argv[i + 1]))
    return files


def log_files(directory):
    return sorted(p for p in Path(directory).rglob("*") if p.is_file())


def _forms(secret):
    """The secret as written, and as it appears URL-encoded or JSON-escaped."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    forms.add(secret.replace("\\", "\\\\").replace('"', '\\"'))
    return forms


def find_leaks(paths, secrets):
    """[(path, line number, masked secret)] for every line of `paths` holding a secret."""
    needles = [(form, secret) for secret in secrets if len(secret) >= MIN_SECRET_LENGTH
               for form in _forms(secret)]
    leaks = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            continue
        with path.open("r", encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                for form, secret in needles:
                    if form in line:
                        leaks.append((path, number, mask(secret)))
                        break
    return leaks


def mask(secret):
    """Enough to tell secrets apart in a report, never enough to use one."""
    return f"{secret[:2]}...({len(secret)} chars)"


def describe(leaks):
    return "\n".join(f"  {path}:{line}: secret {masked}" for path, line, masked in leaks)
