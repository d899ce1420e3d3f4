// Entry point of @ota-gateway/client: the generated ota.v1 messages and service descriptor, and the
// google.rpc error details the gateway attaches to errors (read them with ConnectError.findDetails).
export * from "./gen/ota/v1/ota_strategy_service_pb.js";
export * from "./gen/google/rpc/error_details_pb.js";
