// The per-CPU ring buffers: fixed 48-byte slots, the oldest overwritten when full
// (the kernel ring buffer's overwrite mode, TRACE_ITER_OVERWRITE on by default).
//
// Not modelled: the kernel's variable-length events and sub-buffer pages (a page
// is dropped as a whole there, one record here), time-extend events, and
// producer/consumer concurrency (piemu records on one host thread).
#include <algorithm>
#include <cstring>

#include "piemu/trace.hpp"

namespace piemu::trace {

Recorder::Recorder(RecorderConfig config) : config_(std::move(config)) {
    std::size_t n = std::max<std::size_t>(1, config_.buffer_size / sizeof(detail::Slot));
    rings_.resize(std::max(1u, config_.nr_cpus));
    for (detail::CpuRing& r : rings_)
        r.slots.resize(n);
}

StrId Recorder::intern_comm(std::string_view comm) {
    return strings_.intern(comm.substr(0, TASK_COMM_LEN - 1));
}

void Recorder::push(EventId id, const Context& ctx, const void* payload, std::size_t size) {
    detail::CpuRing& r = rings_.at(ctx.cpu);
    std::size_t cap = r.slots.size();
    if (r.count == cap) {
        r.head = (r.head + 1) % cap;
        ++r.overrun;
    } else {
        ++r.count;
    }
    detail::Slot& s = r.slots[(r.head + r.count - 1) % cap];
    s.ts_ns = ctx.ts_ns;
    s.pid = ctx.pid;
    s.comm = ctx.comm;
    s.id = id;
    s.flags = ctx.flags;
    s.preempt_count = ctx.preempt_count;
    std::memcpy(s.payload.data(), payload, size);
}

void Recorder::clear() {
    for (detail::CpuRing& r : rings_) {
        r.head = 0;
        r.count = 0;
        r.overrun = 0;
    }
}

} // namespace piemu::trace
