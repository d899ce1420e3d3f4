// The demo AccessKey that iot-emulator accepts when started without --access-key.
//
// These values are deliberately fake and public: they exist so that the demo run, the end-to-end
// tests and the gateway's explicit emulator mode can talk to a local iot-emulator without anyone
// configuring a key. They are accepted by iot-emulator only; Alibaba Cloud rejects them.
//
//   ota::Credentials demo{.access_key_id = std::string(ota::kDemoAccessKeyId),
//                         .access_key_secret = std::string(ota::kDemoAccessKeySecret)};
#pragma once

#include <string_view>

namespace ota {

inline constexpr std::string_view kDemoAccessKeyId = "EMULATORDEMOKEYID0001";
inline constexpr std::string_view kDemoAccessKeySecret = "emulator-demo-secret-not-a-real-key";
// The Alibaba Cloud account the demo key belongs to; the emulator's quota is counted per account.
inline constexpr std::string_view kDemoAccount = "emulator-demo-account";

}  // namespace ota
