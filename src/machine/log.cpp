#include <algorithm>
#include <string_view>

#include <spdlog/spdlog.h>

#include "piemu/device.hpp"

namespace piemu {

// Each (offset, kind) is logged once per device: a guest repeating the same bad access
// (a driver polling an unknown register) only looks it up, without allocating.
bool Device::first_report(uint32_t offset, unsigned kind) const {
    uint64_t key = uint64_t(offset) << 1 | kind;
    auto it = std::lower_bound(reported_.begin(), reported_.end(), key);
    if (it != reported_.end() && *it == key)
        return false;
    reported_.insert(it, key);
    return true;
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
