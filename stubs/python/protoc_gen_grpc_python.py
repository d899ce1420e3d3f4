"""A protoc plugin (stdin CodeGeneratorRequest -> stdout CodeGeneratorResponse) that runs
grpcio-tools' gRPC Python generator, so `buf generate` can use the PyPI generator as a local plugin.

Why: grpcio-tools ships its grpc_python generator only *inside* its bundled protoc (as
`--grpc_python_out`), not as a protoc-gen-* executable, and buf's protoc_builtin support knows only
protoc's own languages. This adapter hands the request's already-parsed files to that protoc as a
descriptor set and returns whatever it generated, unchanged.

    plugins:
      - local: [.tools/stubs-python/bin/python, stubs/python/protoc_gen_grpc_python.py]
"""
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    response = plugin_pb2.CodeGeneratorResponse()
    with tempfile.TemporaryDirectory() as tmp:
        descriptors = Path(tmp, "request.binpb")
        descriptors.write_bytes(
            descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString())
        out = Path(tmp, "out")
        out.mkdir()
        option = f"--grpc_python_out={request.parameter}:{out}" if request.parameter \
            else f"--grpc_python_out={out}"
        code = protoc.main(["grpc_tools.protoc", f"--descriptor_set_in={descriptors}", option,
                            *request.file_to_generate])
        if code != 0:
            response.error = f"grpc_tools.protoc --grpc_python_out failed with exit code {code}"
            return response
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            generated = response.file.add()
            generated.name = path.relative_to(out).as_posix()
            generated.content = path.read_text()
    return response


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(request).SerializeToString())


if __name__ == "__main__":
    main()
