#pragma once
// `attnflow help [TOPIC [NAME]]` and `attnflow help --markdown` (docs/reference.md): every
// scenario key with type, default, allowed values, meaning and source, every observable and
// claim kind, rendered from the registries (sim/core/registry.hpp: ModelInfo::doc,
// IntegratorInfo::doc) and the loader's tables (sim/config/docs.hpp).
#include <string>
#include <vector>

namespace attnflow::cli {

// args: what follows `help`. Exit code: 0, or 2 for an unknown topic or name.
int help_main(const std::vector<std::string>& args);

// The whole reference as Markdown (docs/reference.md is this text).
std::string reference_markdown();

}  // namespace attnflow::cli
