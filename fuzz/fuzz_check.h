// FUZZ_CHECK: the invariant assertion every harness in fuzz/ uses.
//
// libFuzzer treats an abort as a finding and saves the input that caused it, so a broken invariant
// is reported exactly like a crash, with the condition and the line printed first:
//
//   FUZZ_CHECK(reply.success == false || reply.parsed);
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
