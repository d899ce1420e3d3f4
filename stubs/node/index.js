// Entry point of @ota-gateway/client (ESM only): the generated ota.v1 messages and service
// descriptor, the ErrorInfo domain and reason constants (DOMAIN_*, REASON_*, ALL_REASONS), and the
// google.rpc error details the gateway attaches to errors (read them with ConnectError.findDetails).
export * from "./gen/ota/v1/ota_strategy_service_pb.js";
export * from "./gen/ota/v1/errors.js";
export * from "./gen/google/rpc/error_details_pb.js";
