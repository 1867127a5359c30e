// --progress: a one-line status on the terminal while a run goes on (virtual time,
// guest MIPS, interrupts per second of virtual time, the current task or core mode).
//
// Only when stderr is a terminal: otherwise nothing is set up and the run is exactly the
// run without --progress. Host time decides only *when* the line is redrawn: the machine
// calls poll() at slice boundaries (between translation blocks), poll() reads the host
// clock and, once the interval has passed, reads the machine (never writes it) and
// redraws. Nothing reaches the guest, the trace or stdout's bytes.
//
// The line is drawn with a carriage return and erased before anything else reaches the
// terminal: claim_terminal() replaces stdout (when it is a terminal) and stderr by
// streams that erase the line before they write (glibc's fopencookie; stdout and stderr
// are ordinary variables in glibc), so the guest's output, piemu's warnings and the final
// output never land behind it. A line left unfinished on the terminal (a guest's prompt)
// is never overdrawn: the status waits until the line is finished.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace piemu {
class Machine;
}

namespace piemu::cli {

/// True if stderr is a terminal; then stdout (if a terminal too) and stderr are
/// replaced, for the rest of the process, by streams that erase the status line before
/// they write. Call before anything captures the streams (the machine, spdlog's logger).
bool claim_terminal();

class Progress {
public:
    /// The status of `machine`, redrawn every `interval_ns` of host time; null when
    /// claim_terminal() found no terminal.
    static std::unique_ptr<Progress> start(Machine& machine, uint64_t interval_ns);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    /// At a slice boundary: redraws if the interval has passed.
    void poll();
    /// The run ended: the status at its end is drawn once more, then erased, so the
    /// terminal is left as without --progress.
    void finish();

private:
    Progress(Machine& machine, uint64_t interval_ns);
    std::string status_line();

    using HostClock = std::chrono::steady_clock;
    Machine& m_;
    HostClock::duration interval_;
    HostClock::time_point next_draw_;
    // The previous sample, for the rates.
    HostClock::time_point last_host_;
    uint64_t last_insns_ = 0;
    uint64_t last_ns_ = 0;
    uint64_t last_irqs_ = 0;
    uint64_t last_fiqs_ = 0;
    double mips_ = 0;
    double irq_rate_ = 0;
    double fiq_rate_ = 0;
    bool finished_ = false;
};

} // namespace piemu::cli
