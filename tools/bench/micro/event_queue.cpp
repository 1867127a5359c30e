// Micro-benchmarks of the virtual clock's event queue (piemu/clock.hpp): what a
// device timer costs the run loop. Each iteration fires one timer event: the clock
// jumps to the next deadline, run_due() pops it and its callback re-arms it, as a
// periodic device timer does (the system timer's compare, the local timer, the
// generic timer, dwc_otg's 125 us SOF).
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include "piemu/clock.hpp"

namespace {

using piemu::TimerEvent;
using piemu::VirtualClock;

/// A device timer that re-arms itself every `period` cycles.
struct Periodic {
    Periodic(VirtualClock& clock, uint64_t p)
        : period(p), event(clock, "periodic", [this] { event.arm_in(period); }) {}
    uint64_t period;
    TimerEvent event;
};

/// state.range(0) periodic timers with distinct periods, all armed; one fires per
/// iteration (the heap holds range(0) live entries).
void BM_PeriodicTimers(benchmark::State& state) {
    VirtualClock clock(900'000'000);
    std::vector<std::unique_ptr<Periodic>> timers;
    for (int64_t i = 0; i < state.range(0); ++i)
        timers.push_back(std::make_unique<Periodic>(clock, 1000 + 37 * uint64_t(i)));
    for (auto& t : timers)
        t->event.arm_in(1000);
    unsigned fired = 0;
    for (auto _ : state) {
        clock.set_now(clock.next_deadline());
        fired += clock.run_due();
    }
    state.SetItemsProcessed(fired);
}

/// A timer re-armed before it fires (a guest rewriting a compare register, a
/// device postponing its event): every arm leaves a stale heap entry that
/// next_deadline() drops once it reaches the front.
void BM_RearmBeforeExpiry(benchmark::State& state) {
    VirtualClock clock(900'000'000);
    TimerEvent t(clock, "t", [] {});
    uint64_t when = 1000;
    for (auto _ : state) {
        t.arm_at(when += 10);
        clock.set_now(when - 5); // not due yet: the next re-arm replaces it
        benchmark::DoNotOptimize(clock.next_deadline());
    }
    state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_PeriodicTimers)->Arg(1)->Arg(8)->Arg(64);
BENCHMARK(BM_RearmBeforeExpiry);

} // namespace
