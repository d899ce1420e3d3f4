// The Alibaba Cloud IoT Platform API that the gateway calls and iot-emulator answers: one place for
// its version and action names, so the two can never disagree.
#pragma once

namespace ota {

inline constexpr char kIotApiVersion[] = "2018-01-20";
inline constexpr char kCancelAction[] = "CancelOTAStrategyByJob";
// Reads a batch's JobStatus and SelectionType: how the gateway learns what a cancel whose answer
// was lost (or that was refused) really did.
inline constexpr char kQueryJobAction[] = "QueryOTAJob";

}  // namespace ota
