// Types of @ota-gateway/client (see index.js).
export * from "./gen/ota/v1/ota_strategy_service_pb.js";
export * from "./gen/ota/v1/errors.js";
export * from "./gen/google/rpc/error_details_pb.js";
