// The Alibaba Cloud IoT Platform API that the gateway calls and iot-emulator answers: one place for
// its version and action names, so the two can never disagree.
#pragma once

namespace ota {

inline constexpr char kIotApiVersion[] = "2018-01-20";
inline constexpr char kCancelAction[] = "CancelOTAStrategyByJob";
// Reads a batch's JobStatus and SelectionType: how the gateway learns what a cancel whose answer
// was lost (or that was refused) really did.
inline constexpr char kQueryJobAction[] = "QueryOTAJob";
// Lists the batches of one firmware, a page at a time (CurrentPage from 1, PageSize 1..200): how a
// caller finds every batch still pushing a bad firmware.
inline constexpr char kListJobsByFirmwareAction[] = "ListOTAJobByFirmware";
// ListOTAJobByFirmware's largest PageSize.
inline constexpr int kListJobsMaxPageSize = 200;

}  // namespace ota
