#include "emulator/fault_injector.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/signing/iot_api.h"

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
  if (!config.action.empty() && config.action != kCancelAction &&
      config.action != kQueryJobAction && config.action != kListJobsByFirmwareAction) {
    return absl::InvalidArgumentError(
        absl::StrCat("fault action must be ", kCancelAction, ", ", kQueryJobAction, " or ",
                     kListJobsByFirmwareAction, ", got \"", config.action, "\""));
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<FaultConfig> FaultConfigFromObject(const nlohmann::json& doc) {
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
    } else if (bool* flag = name == "reset"         ? &config.reset
                            : name == "garbage"     ? &config.garbage
                            : name == "slow_body"   ? &config.slow_body
                            : name == "oversized"   ? &config.oversized
                            : name == "clock_skew"  ? &config.clock_skew
                            : name == "after_apply" ? &config.after_apply
                                                    : nullptr;
               flag != nullptr) {
      if (!value.is_boolean()) {
        return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be true or false"));
      }
      *flag = value.get<bool>();
    } else if (name == "action") {
      if (!value.is_string()) return absl::InvalidArgumentError("\"action\" must be a string");
      config.action = value.get<std::string>();
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

nlohmann::json FaultConfigToObject(const FaultConfig& config) {
  return {
      {"latency", absl::FormatDuration(config.latency)},
      {"status", config.status},
      {"reset", config.reset},
      {"garbage", config.garbage},
      {"slow_body", config.slow_body},
      {"oversized", config.oversized},
      {"clock_skew", config.clock_skew},
      {"rate", config.rate},
      {"after_apply", config.after_apply},
      {"action", config.action},
  };
}

}  // namespace

absl::StatusOr<FaultConfig> FaultConfigFromJson(absl::string_view json) {
  return FaultConfigFromObject(nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false));
}

std::string FaultConfigToJson(const FaultConfig& config) {
  return FaultConfigToObject(config).dump();
}

absl::StatusOr<std::vector<FaultConfig>> FaultConfigsFromJson(absl::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  std::vector<FaultConfig> configs;
  if (!doc.is_array()) {
    absl::StatusOr<FaultConfig> one = FaultConfigFromObject(doc);
    if (!one.ok()) return one.status();
    configs.push_back(*std::move(one));
    return configs;
  }
  for (const nlohmann::json& item : doc) {
    absl::StatusOr<FaultConfig> config = FaultConfigFromObject(item);
    if (!config.ok()) return config.status();
    for (const FaultConfig& earlier : configs) {
      if (earlier.action == config->action) {
        return absl::InvalidArgumentError("faults: at most one config per action");
      }
    }
    configs.push_back(*std::move(config));
  }
  return configs;
}

std::string FaultConfigsToJson(const std::vector<FaultConfig>& configs) {
  if (configs.size() == 1) return FaultConfigToJson(configs.front());
  nlohmann::json array = nlohmann::json::array();
  for (const FaultConfig& config : configs) array.push_back(FaultConfigToObject(config));
  return array.dump();
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

FaultInjector::FaultInjector(const FaultConfig& config) : initial_(config), configs_({config}) {}

void FaultInjector::Set(const FaultConfig& config) { Set(std::vector<FaultConfig>{config}); }

void FaultInjector::Set(std::vector<FaultConfig> configs) {
  if (configs.empty()) configs.emplace_back();
  std::lock_guard<std::mutex> lock(mu_);
  configs_ = std::move(configs);
}

FaultConfig FaultInjector::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return configs_.front();
}

std::vector<FaultConfig> FaultInjector::GetAll() const {
  std::lock_guard<std::mutex> lock(mu_);
  return configs_;
}

void FaultInjector::Reset() { Set(initial_); }

FaultDecision FaultInjector::Draw(absl::string_view action) {
  std::lock_guard<std::mutex> lock(mu_);
  const FaultConfig* config = nullptr;
  for (const FaultConfig& candidate : configs_) {
    if (candidate.action == action) {
      config = &candidate;
      break;
    }
    if (candidate.action.empty() && config == nullptr) config = &candidate;
  }
  FaultDecision decision;
  if (config == nullptr || !config->Active() || !absl::Bernoulli(gen_, config->rate)) {
    return decision;
  }
  decision.latency = config->latency;
  decision.after_apply = config->after_apply;
  if (config->status != 0) {
    decision.answer = FaultAnswer::kStatus;
    decision.status = config->status;
  } else if (config->reset) {
    decision.answer = FaultAnswer::kReset;
  } else if (config->garbage) {
    decision.answer = FaultAnswer::kGarbage;
  } else if (config->slow_body) {
    decision.answer = FaultAnswer::kSlowBody;
  } else if (config->oversized) {
    decision.answer = FaultAnswer::kOversized;
  } else if (config->clock_skew) {
    decision.answer = FaultAnswer::kClockSkew;
  }
  return decision;
}

}  // namespace ota
