#include "emulator/fault_injector.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace ota {

absl::Status ValidateFaultConfig(const FaultConfig& config) {
  if (config.latency < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("fault latency must not be negative");
  }
  if (config.status != 0 && (config.status < 400 || config.status > 599)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault status must be an HTTP error status 400..599, got ", config.status));
  }
  const int answers = (config.status != 0 ? 1 : 0) + (config.reset ? 1 : 0) +
                      (config.garbage ? 1 : 0) + (config.slow_body ? 1 : 0) +
                      (config.oversized ? 1 : 0) + (config.clock_skew ? 1 : 0);
  if (answers > 1) {
    return absl::InvalidArgumentError(
        "choose at most one of fault status, reset, garbage, slow_body, oversized and clock_skew");
  }
  if (!(config.rate >= 0.0 && config.rate <= 1.0)) {
    return absl::InvalidArgumentError("fault rate must be a probability between 0 and 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<FaultConfig> FaultConfigFromJson(absl::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::InvalidArgumentError("faults must be a JSON object");
  FaultConfig config;
  for (const auto& [name, value] : doc.items()) {
    if (name == "latency") {
      if (!value.is_string() || !absl::ParseDuration(value.get<std::string>(), &config.latency)) {
        return absl::InvalidArgumentError("\"latency\" must be a duration string like \"250ms\"");
      }
    } else if (name == "latency_ms") {
      if (!value.is_number()) return absl::InvalidArgumentError("\"latency_ms\" must be a number");
      config.latency = absl::Milliseconds(value.get<double>());
    } else if (name == "status") {
      if (!value.is_number_integer()) {
        return absl::InvalidArgumentError("\"status\" must be an integer");
      }
      config.status = value.get<int>();
    } else if (bool* flag = name == "reset"        ? &config.reset
                            : name == "garbage"    ? &config.garbage
                            : name == "slow_body"  ? &config.slow_body
                            : name == "oversized"  ? &config.oversized
                            : name == "clock_skew" ? &config.clock_skew
                                                   : nullptr;
               flag != nullptr) {
      if (!value.is_boolean()) {
        return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be true or false"));
      }
      *flag = value.get<bool>();
    } else if (name == "rate") {
      if (!value.is_number()) return absl::InvalidArgumentError("\"rate\" must be a number");
      config.rate = value.get<double>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown fault field \"", name, "\""));
    }
  }
  if (absl::Status valid = ValidateFaultConfig(config); !valid.ok()) return valid;
  return config;
}

std::string FaultConfigToJson(const FaultConfig& config) {
  const nlohmann::json doc = {
      {"latency", absl::FormatDuration(config.latency)},
      {"status", config.status},
      {"reset", config.reset},
      {"garbage", config.garbage},
      {"slow_body", config.slow_body},
      {"oversized", config.oversized},
      {"clock_skew", config.clock_skew},
      {"rate", config.rate},
  };
  return doc.dump();
}

GatewayError InjectedStatusError(int status) {
  if (status == 503) {
    return {status, "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server."};
  }
  if (status >= 500) {
    return {status, "InternalError",
            "The request processing has failed due to some unknown error, exception or failure."};
  }
  if (status == 429) return {status, "Throttling", "Request was denied due to flow control."};
  return {status, "InvalidParameter", "The request was rejected by an injected fault."};
}

GatewayError ClockSkewError() {
  return {400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."};
}

FaultInjector::FaultInjector(FaultConfig config) : initial_(config), config_(config) {}

void FaultInjector::Set(const FaultConfig& config) {
  std::lock_guard<std::mutex> lock(mu_);
  config_ = config;
}

FaultConfig FaultInjector::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

void FaultInjector::Reset() { Set(initial_); }

FaultDecision FaultInjector::Draw() {
  std::lock_guard<std::mutex> lock(mu_);
  FaultDecision decision;
  if (!config_.Active() || !absl::Bernoulli(gen_, config_.rate)) return decision;
  decision.latency = config_.latency;
  if (config_.status != 0) {
    decision.answer = FaultAnswer::kStatus;
    decision.status = config_.status;
  } else if (config_.reset) {
    decision.answer = FaultAnswer::kReset;
  } else if (config_.garbage) {
    decision.answer = FaultAnswer::kGarbage;
  } else if (config_.slow_body) {
    decision.answer = FaultAnswer::kSlowBody;
  } else if (config_.oversized) {
    decision.answer = FaultAnswer::kOversized;
  } else if (config_.clock_skew) {
    decision.answer = FaultAnswer::kClockSkew;
  }
  return decision;
}

}  // namespace ota
