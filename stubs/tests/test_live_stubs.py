"""The client packages against the real ota-gateway + iot-emulator, each in its own language.

For every language this starts an iot-emulator, a gateway in emulator mode, and a second gateway
limited to --qps=1 --burst=1, then runs that language's own test runner on its example consumer
(stubs/examples/<language>) with the targets in the environment. The packages must already be
built (stubs/build-packages.sh); stubs/test.sh does both. The C++ package is installed here from
the main build (OTA_BUILD_DIR) into a temporary prefix, and the example finds it with find_package. Also checks the descriptor set with
grpcurl -protoset and the contract against the last released one with buf breaking.

Process handling is the end-to-end harness's (tests/e2e/conftest.py), loaded under its own name so
this suite stays out of the ctest glob over tests/e2e/test_*.py.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

STUBS = Path(__file__).resolve().parents[1]
ROOT = STUBS.parent
BUILD = STUBS / "build"
VERSION = (STUBS / "VERSION").read_text().strip()


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


@pytest.fixture
def live(processes, request):
    """An emulator, a gateway and a rate-limited gateway, as the environment the examples read."""
    lang = request.param
    dynamic_job, limited_job = f"JOB-{lang}-DYN", f"JOB-{lang}-LIMITED"
    emulator = harness.Emulator(f"--job={dynamic_job}=dynamic", f"--job={limited_job}=dynamic")
    processes.append(emulator)
    gateway = harness.Gateway(emulator)
    processes.append(gateway)
    limited = harness.Gateway(emulator, "--qps=1", "--burst=1")
    processes.append(limited)
    return {"OTA_TARGET": gateway.target, "OTA_LIMITED_TARGET": limited.target,
            "OTA_DYNAMIC_JOB": dynamic_job, "OTA_LIMITED_JOB": limited_job}


@pytest.mark.parametrize("live", ["PY"], indirect=True)
def test_python_wheel_in_a_fresh_venv(live, tmp_path):
    wheel = BUILD / "python" / f"ota_gateway_client-{VERSION}-py3-none-any.whl"
    assert wheel.is_file(), f"{wheel} missing: run stubs/build-packages.sh"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    example = STUBS / "examples" / "python"
    assert run([*pip, "-r", example / "requirements.txt", wheel], cwd=example) == 0
    assert run([venv / "bin" / "python", "-m", "pytest", "-v", "-p", "no:cacheprovider",
                "test_live_python.py"], cwd=example, env=live) == 0


@pytest.mark.parametrize("live", ["GO"], indirect=True)
def test_go_module_from_an_example_module(live):
    example = STUBS / "examples" / "go"
    assert (STUBS / "go" / "ota" / "v1" / "ota_strategy_service_grpc.pb.go").is_file(), \
        "generated Go code missing: run stubs/generate.sh"
    assert run(["go", "test", "-count=1", "-v", "./..."], cwd=example, env=live) == 0


@pytest.mark.parametrize("live", ["JAVA"], indirect=True)
def test_java_jar_with_junit(live):
    example = STUBS / "examples" / "java"
    jar = STUBS / "java" / "target" / f"ota-gateway-client-{VERSION}.jar"
    assert jar.is_file(), f"{jar} missing: run stubs/build-packages.sh (it installs it into ~/.m2)"
    assert run(["mvn", "-B", "-ntp", "-Dstyle.color=never", "test", f"-Drevision={VERSION}"],
               cwd=example, env=live) == 0


@pytest.mark.parametrize("live", ["NODE"], indirect=True)
def test_node_package_from_its_tarball(live):
    tarball = BUILD / f"ota-gateway-client-{VERSION}.tgz"
    assert tarball.is_file(), f"{tarball} missing: run stubs/build-packages.sh"
    example = STUBS / "examples" / "node"
    npm = ["npm", "--no-audit", "--no-fund", "--loglevel=error"]
    assert run([*npm, "ci"], cwd=example) == 0
    assert run([*npm, "install", "--no-save", tarball], cwd=example) == 0
    # TypeScript callers: the README's usage compiles against the package's .d.ts (strict).
    assert run(["npx", "--no-install", "tsc", "-p", "."], cwd=example) == 0
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

    code, printed = cancel(live["OTA_TARGET"], "NO-SUCH-JOB-CPP")
    assert code == 1 and printed.startswith("NOT_FOUND: ")
    assert "alibaba_code=iot.ota.OtaJobNotExist" in printed
    assert "domain=iot.aliyuncs.com" in printed and "alibaba_request_id=" in printed

    code, printed = cancel(live["OTA_TARGET"], "bad id!")
    assert code == 1 and printed.startswith("INVALID_ARGUMENT: ")
    assert "domain=ota-gateway" in printed and "field_violations=[job_id: " in printed

    # The limited gateway's single token goes to the first call; the second cannot be served
    # within its 300 ms deadline.
    code, printed = cancel(live["OTA_LIMITED_TARGET"], live["OTA_LIMITED_JOB"])
    assert code == 0 and printed.startswith("request_id=")
    code, printed = cancel(live["OTA_LIMITED_TARGET"], "ANY-JOB-CPP", "300")
    assert code == 1 and printed.startswith("RESOURCE_EXHAUSTED: ")
    assert "reason=RATE_LIMITED" in printed
    retry_after = re.search(r"retry_after=(\S+)", printed)
    assert retry_after and retry_after.group(1).rstrip(")") not in ("0", "0s")


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
    # its output must be byte-identical to running grpcio-tools' protoc directly.
    generated = STUBS / "python" / "src" / "ota" / "v1" / "ota_strategy_service_pb2_grpc.py"
    assert generated.is_file(), f"{generated} missing: run stubs/generate.sh"
    direct = subprocess.run([ROOT / ".tools" / "stubs-python" / "bin" / "python", "-m",
                             "grpc_tools.protoc", f"-I{ROOT / 'proto'}", f"--grpc_python_out={tmp_path}",
                             "ota/v1/ota_strategy_service.proto"], capture_output=True, text=True)
    assert direct.returncode == 0, direct.stderr
    expected = (tmp_path / "ota" / "v1" / "ota_strategy_service_pb2_grpc.py").read_text()
    assert "class OtaStrategyServiceStub" in expected
    assert generated.read_text() == expected
