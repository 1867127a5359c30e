// The machine's virtual clock and its event queue.
//
// Virtual time is counted in CPU cycles of the board's CPU clock; one retired guest
// instruction is one cycle (piemu models no pipeline). Device timers convert with
// ticks_at(): e.g. the 1 MHz system timer reads ticks_at(1'000'000). Nothing here
// reads host time, so the same inputs give the same time line on every run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace piemu {

class VirtualClock;

/// A one-shot timed callback owned by a device, like QEMU's QEMUTimer. Re-arming
/// replaces the previous expiry. Destroying an armed timer cancels it.
class TimerEvent {
public:
    TimerEvent(VirtualClock& clock, std::string name, std::function<void()> callback);
    ~TimerEvent();
    TimerEvent(const TimerEvent&) = delete;
    TimerEvent& operator=(const TimerEvent&) = delete;

    /// Fires the callback when the clock reaches `when` (absolute cycles).
    void arm_at(uint64_t when);
    /// Fires the callback `delay` cycles from now.
    void arm_in(uint64_t delay);
    void cancel();
    bool armed() const { return armed_; }
    uint64_t expiry() const { return when_; }
    const std::string& name() const { return name_; }

private:
    friend class VirtualClock;
    VirtualClock& clock_;
    std::string name_;
    std::function<void()> callback_;
    uint64_t when_ = 0;
    uint64_t generation_ = 0;
    bool armed_ = false;
};

class VirtualClock {
public:
    static constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

    explicit VirtualClock(uint64_t cpu_hz) : hz_(cpu_hz) {}

    /// Cycles since machine reset.
    uint64_t now() const { return now_; }
    uint64_t hz() const { return hz_; }
    /// Virtual nanoseconds since reset.
    uint64_t now_ns() const { return ticks_at(1'000'000'000); }
    /// The value of a counter running at `freq_hz` that started at 0 on reset.
    uint64_t ticks_at(uint64_t freq_hz) const { return cycles_to_ticks(now_, freq_hz); }
    uint64_t cycles_to_ticks(uint64_t cycles, uint64_t freq_hz) const;
    /// The first cycle at which a counter running at `freq_hz` reads at least `ticks`.
    uint64_t ticks_to_cycles(uint64_t ticks, uint64_t freq_hz) const;

    /// Advances time; only the run loop and the cores do this.
    void advance(uint64_t cycles) { now_ += cycles; }
    void set_now(uint64_t cycles) { now_ = cycles; }

    /// The expiry of the earliest armed timer, or kNever.
    uint64_t next_deadline();
    /// Runs every timer whose expiry is <= now(), in (expiry, arming order) order.
    /// Returns how many fired.
    unsigned run_due();

    /// Asks the running core to return to the run loop at the next translation-block
    /// boundary (an IRQ line changed, a host signal). An earlier timer armed only lowers
    /// check_at(): the core stops when it gets there.
    void request_attention() {
        attention_.store(true, std::memory_order_relaxed);
        check_at_.store(0, std::memory_order_relaxed);
    }
    bool attention() const { return attention_.load(std::memory_order_relaxed); }
    void clear_attention() { attention_.store(false, std::memory_order_relaxed); }

    /// Where the running core must stop at the latest (cycles); lowered when a
    /// timer is armed earlier.
    uint64_t stop_at() const { return stop_at_; }
    void set_stop_at(uint64_t cycles) {
        stop_at_ = cycles;
        check_at_.store(attention() ? 0 : cycles, std::memory_order_relaxed);
    }

    /// The block hook's one compare: while now() < check_at() nothing can require a
    /// stop (check_at <= stop_at; 0 while attention is requested or a core forces
    /// its full check), so the hook skips its slow checks.
    uint64_t check_at() const { return check_at_.load(std::memory_order_relaxed); }
    void force_check() { check_at_.store(0, std::memory_order_relaxed); }
    /// Back to the one compare after a stretch of full checks (force_check()):
    /// check_at() = stop_at() unless attention is requested. (Attention is looked at
    /// after the store, so a request from a signal handler in between is kept.)
    void relax_check() {
        check_at_.store(stop_at_, std::memory_order_relaxed);
        if (attention())
            check_at_.store(0, std::memory_order_relaxed);
    }

    /// Entries in the event queue, stale ones included (for tests: it stays within
    /// about twice the armed timers however often they are re-armed).
    size_t queued() const { return heap_.size(); }
    /// Timers armed now.
    size_t armed() const { return armed_; }

private:
    friend class TimerEvent;
    struct Entry {
        uint64_t when;
        uint64_t seq;
        uint64_t generation;
        TimerEvent* timer;
    };
    void schedule(TimerEvent& t);
    void forget(const TimerEvent& t);
    void pop_stale();

    uint64_t hz_;
    uint64_t now_ = 0;
    uint64_t stop_at_ = kNever;
    uint64_t seq_ = 0;
    std::vector<Entry> heap_;
    size_t armed_ = 0; // timers with a live entry in heap_
    std::atomic<bool> attention_{false};
    std::atomic<uint64_t> check_at_{kNever}; // written from signal handlers too
};

} // namespace piemu
