// libFuzzer target over scenario parsing and validation: any input must either load or raise a
// ConfigError (exit 2 in the CLI); any other exception, crash, leak or UB is a bug.
//
//   build-asan/fuzz_scenario CORPUS_DIR... -max_total_time=60
//
// ATTNFLOW_MAX_STATE_BYTES caps the state size validation accepts, so that huge tokens.n values
// are rejected as invalid instead of exhausting the fuzzer's memory.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sim/core/error.hpp"
#include "sim/config/scenario.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("ATTNFLOW_MAX_STATE_BYTES", "16000000", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    attnflow::load_scenario_text(text, "fuzz.toml", {"run.output=/tmp/attnflow-fuzz-out/run.h5"});
  } catch (const attnflow::ConfigError&) {
  }
  return 0;
}
