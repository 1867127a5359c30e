// Interrupt lines as a Value Change Dump (IEEE 1364-2005, section 18): each device's
// outputs, each controller's outputs and each core's IRQ/FIQ and timer lines as 1-bit
// wires over virtual time, for GTKWave and other waveform viewers (`--vcd FILE`).
// The file is written as the run goes (buffered); Machine::flush_outputs() flushes it,
// so it is complete after any ending piemu handles. Nothing host-side enters it: no
// date, virtual nanoseconds only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "piemu/error.hpp"

namespace piemu::trace {

class VcdWriter {
public:
    VcdWriter() = default;
    ~VcdWriter();
    VcdWriter(const VcdWriter&) = delete;
    VcdWriter& operator=(const VcdWriter&) = delete;

    /// Opens `path` for writing (truncates); `option` names it in errors.
    ErrorOr<void> open(const std::string& path, const std::string& option);
    /// Declares a wire `name` in scope `scope` (a device) before begin(); returns its
    /// index for change().
    uint32_t add_wire(const std::string& scope, const std::string& name, bool initial);
    /// Writes the header and the initial values.
    void begin();
    /// Wire `index` changed to `level` at virtual time `ns`.
    void change(uint32_t index, uint64_t ns, bool level);
    void flush();
    /// errno of the first write to the file that failed (0: none), after flush().
    int write_error() const { return error_; }

    /// VCD identifier code of the n-th wire: printable ASCII from '!' in base 94.
    static std::string id_code(uint32_t n);

private:
    struct Wire {
        std::string scope, name;
        bool initial;
    };
    std::FILE* out_ = nullptr;
    std::vector<Wire> wires_;
    uint64_t last_ns_ = 0;
    bool began_ = false;
    int error_ = 0;
};

} // namespace piemu::trace
