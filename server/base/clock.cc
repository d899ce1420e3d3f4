#include "server/base/clock.h"

namespace ota {

SystemClock& SystemClock::Get() {
  static SystemClock* const clock = new SystemClock();
  return *clock;
}

}  // namespace ota
