// Micro-benchmarks of the trace layer: recording an event into a CPU's ring (the
// cost every traced interrupt pays while the guest runs), a filtered-out event, and
// writing a full ring as ftrace text (paid once, at the end of a run).
#include <ostream>
#include <streambuf>

#include <benchmark/benchmark.h>

#include "piemu/trace.hpp"

namespace {

using namespace piemu::trace;

Recorder make_recorder(const char* events) {
    auto filter = EventFilter::parse(events);
    return Recorder({.nr_cpus = 4, .events = filter.value()});
}

/// irq_handler_entry into the ring (recorded: irq events on).
void BM_RecordIrqHandlerEntry(benchmark::State& state) {
    Recorder rec = make_recorder("irq,sched");
    StrId name = rec.intern("arch_timer");
    StrId comm = rec.intern_comm("swapper/0");
    CpuState cpu{.irqs_off = true, .preempt_count = 0x10001};
    std::uint64_t ts = 0;
    for (auto _ : state) {
        rec.record(make_context(ts += 1000, 0, 0, comm, cpu),
                   ev::irq_handler_entry{.irq = 17, .name = name});
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}

/// The same event while only sched events are selected: one bitset test.
void BM_RecordFilteredOut(benchmark::State& state) {
    Recorder rec = make_recorder("sched");
    StrId name = rec.intern("arch_timer");
    CpuState cpu{.irqs_off = true, .preempt_count = 0x10001};
    for (auto _ : state) {
        rec.record(make_context(1000, 0, 0, 0, cpu),
                   ev::irq_handler_entry{.irq = 17, .name = name});
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}

/// A streambuf that counts and drops what it is given.
class NullBuf : public std::streambuf {
public:
    std::size_t bytes = 0;

protected:
    std::streamsize xsputn(const char*, std::streamsize n) override {
        bytes += std::size_t(n);
        return n;
    }
    int overflow(int c) override {
        ++bytes;
        return c;
    }
};

/// Recorder::write of one full default-size ring (30037 records) of alternating
/// irq_handler_entry/exit and sched_switch events: the text of `cat trace`.
void BM_WriteFullRing(benchmark::State& state) {
    Recorder rec = make_recorder("irq,sched");
    StrId name = rec.intern("bench");
    StrId idle = rec.intern_comm("swapper/0"), init = rec.intern_comm("init");
    CpuState irq_cpu{.irqs_off = true, .preempt_count = 0x10001};
    CpuState task_cpu{.irqs_off = true, .preempt_count = 1};
    std::uint64_t ts = 0;
    for (std::size_t i = 0; i < rec.capacity(); i += 3) {
        rec.record(make_context(ts += 2000, 0, 0, idle, irq_cpu),
                   ev::irq_handler_entry{.irq = 31, .name = name});
        rec.record(make_context(ts += 100, 0, 0, idle, irq_cpu),
                   ev::irq_handler_exit{.irq = 31, .ret = 1});
        rec.record(make_context(ts += 100, 0, 0, idle, task_cpu),
                   ev::sched_switch{.prev_comm = idle,
                                    .prev_pid = 0,
                                    .prev_prio = 120,
                                    .prev_state = 0,
                                    .next_comm = init,
                                    .next_pid = 1,
                                    .next_prio = 120});
    }
    std::size_t lines = rec.entries(0);
    NullBuf buf;
    std::ostream out(&buf);
    for (auto _ : state)
        rec.write(out);
    state.SetItemsProcessed(state.iterations() * std::int64_t(lines));
    state.SetBytesProcessed(std::int64_t(buf.bytes));
    state.counters["lines"] = double(lines);
}

BENCHMARK(BM_RecordIrqHandlerEntry);
BENCHMARK(BM_RecordFilteredOut);
BENCHMARK(BM_WriteFullRing)->Unit(benchmark::kMillisecond);

} // namespace
