// Host-memory preempt_count store (see piemu/kernel/preempt.hpp).
#include "piemu/kernel/preempt.hpp"

#include <cassert>

namespace piemu::kernel {

HostPreemptCounts::HostPreemptCounts(unsigned nr_cpus) : counts_(nr_cpus, 0) {}

std::uint32_t HostPreemptCounts::get(unsigned cpu) const {
    assert(cpu < counts_.size()); // host-side wiring: the run loop's CPU numbers
    return counts_[cpu];
}

void HostPreemptCounts::set(unsigned cpu, std::uint32_t value) {
    assert(cpu < counts_.size());
    counts_[cpu] = value;
}

} // namespace piemu::kernel
