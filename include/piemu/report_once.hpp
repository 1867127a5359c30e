// Reporting a guest's repeated mistakes once each, within a bound.
//
// piemu logs a bad guest access (an unknown register, an address no device claims)
// the first time it happens, so a driver polling the same wrong register does not
// flood the log. What was reported must be remembered, and a hostile guest can make
// every report a new one (a loop over every address of a window, a DMA sweep over the
// bus): so at most kLimit are remembered and reported, then one line says that the
// rest are not, and nothing more is kept. Host memory and the time each access costs
// stay bounded whatever the guest does.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace piemu {

class ReportOnce {
public:
    static constexpr size_t kLimit = 256;

    enum class Verdict {
        Repeat, ///< reported before, or past the limit: say nothing
        First,  ///< report it
        Last,   ///< the limit is reached: say that nothing more will be reported
    };

    Verdict note(uint64_t key) {
        if (full_)
            return Verdict::Repeat;
        auto it = std::lower_bound(seen_.begin(), seen_.end(), key);
        if (it != seen_.end() && *it == key)
            return Verdict::Repeat;
        if (seen_.size() == kLimit) {
            full_ = true;
            seen_ = {};
            return Verdict::Last;
        }
        seen_.insert(it, key);
        return Verdict::First;
    }

    /// How many keys are remembered (at most kLimit).
    size_t size() const { return seen_.size(); }

private:
    std::vector<uint64_t> seen_; // sorted
    bool full_ = false;
};

} // namespace piemu
