#include <set>
#include <string>
#include <tuple>

#include <spdlog/spdlog.h>

#include "piemu/device.hpp"

namespace piemu {

namespace {
// Reported (device, offset, kind) triples: each is logged once per run.
std::set<std::tuple<std::string, uint32_t, int>>& reported() {
    static std::set<std::tuple<std::string, uint32_t, int>> s;
    return s;
}
} // namespace

void log_guest_error(const Device& dev, uint32_t offset, std::string_view what) {
    if (reported().emplace(dev.name(), offset, 0).second)
        spdlog::warn("guest error: {} +0x{:03x}: {}", dev.name(), offset, what);
}

void log_unimplemented(const Device& dev, uint32_t offset, std::string_view what) {
    if (reported().emplace(dev.name(), offset, 1).second)
        spdlog::info("unimplemented: {} +0x{:03x}: {}", dev.name(), offset, what);
}

} // namespace piemu
