// `piemu step`: the stepper's session on a created machine (breaks, scripted or
// interactive commands). The CLI's other commands are in main.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace piemu {
class Machine;
}

namespace piemu::cli {

struct StepOptions {
    std::vector<std::string> breaks; ///< --break: irq|fiq|svc|abort|undef|ADDR|SYMBOL
    std::optional<uint64_t> steps;   ///< --steps N
    std::string until;               ///< --until SYMBOL|handler|return
    std::string script;              ///< --script FILE ("" = stdin)
};

/// Runs the session; returns the process exit status (the run's when it ended).
int step_session(Machine& machine, const StepOptions& options);

} // namespace piemu::cli
