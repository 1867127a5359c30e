#include <string_view>

#include <spdlog/spdlog.h>

#include "piemu/device.hpp"

namespace piemu {

// Each (offset, kind) is logged once per device, up to ReportOnce::kLimit of them: a
// guest repeating the same bad access (a driver polling an unknown register) only looks
// it up, without allocating.
bool Device::first_report(uint32_t offset, unsigned kind) const {
    switch (reported_.note(uint64_t(offset) << 1 | kind)) {
    case ReportOnce::Verdict::First:
        return true;
    case ReportOnce::Verdict::Last:
        spdlog::warn("guest error: {}: {} different bad or unimplemented accesses reported; "
                     "no more are",
                     name_, ReportOnce::kLimit);
        return false;
    case ReportOnce::Verdict::Repeat:
        break;
    }
    return false;
}

void log_guest_error(const Device& dev, uint32_t offset, std::string_view what) {
    if (dev.first_report(offset, 0))
        spdlog::warn("guest error: {} +0x{:03x}: {}", dev.name(), offset, what);
}

void log_unimplemented(const Device& dev, uint32_t offset, std::string_view what) {
    if (dev.first_report(offset, 1))
        spdlog::info("unimplemented: {} +0x{:03x}: {}", dev.name(), offset, what);
}

} // namespace piemu
