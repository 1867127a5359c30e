#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "piemu/device.hpp"

namespace piemu {

namespace {
// Reported (offset, kind) pairs per device name: each is logged once per run. A guest
// repeating the same bad access (a driver polling an unknown register) only looks it
// up, without allocating.
std::map<std::string, std::set<std::pair<uint32_t, int>>, std::less<>>& reported() {
    static std::map<std::string, std::set<std::pair<uint32_t, int>>, std::less<>> s;
    return s;
}

bool first_report(const Device& dev, uint32_t offset, int kind) {
    auto& r = reported();
    auto it = r.find(std::string_view(dev.name()));
    if (it == r.end())
        it = r.emplace(dev.name(), std::set<std::pair<uint32_t, int>>{}).first;
    return it->second.insert({offset, kind}).second; // insert: allocates only when new
}
} // namespace

void log_guest_error(const Device& dev, uint32_t offset, std::string_view what) {
    if (first_report(dev, offset, 0))
        spdlog::warn("guest error: {} +0x{:03x}: {}", dev.name(), offset, what);
}

void log_unimplemented(const Device& dev, uint32_t offset, std::string_view what) {
    if (first_report(dev, offset, 1))
        spdlog::info("unimplemented: {} +0x{:03x}: {}", dev.name(), offset, what);
}

} // namespace piemu
