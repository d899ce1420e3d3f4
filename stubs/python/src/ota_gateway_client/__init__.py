"""ota-gateway's Python client: the generated ota.v1 contract lives in `ota_gateway_client.v1`.

    from ota_gateway_client.v1 import errors, ota_strategy_service_pb2, ota_strategy_service_pb2_grpc
"""
