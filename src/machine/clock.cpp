#include "piemu/clock.hpp"

#include <algorithm>

namespace piemu {

TimerEvent::TimerEvent(VirtualClock& clock, std::string name, std::function<void()> callback)
    : clock_(clock), name_(std::move(name)), callback_(std::move(callback)) {}

TimerEvent::~TimerEvent() {
    cancel();
    clock_.forget(*this);
}

void TimerEvent::arm_at(uint64_t when) {
    if (!armed_)
        ++clock_.armed_;
    when_ = when;
    armed_ = true;
    ++generation_; // invalidates any earlier heap entry
    clock_.schedule(*this);
}

void TimerEvent::arm_in(uint64_t delay) {
    arm_at(clock_.now() + delay);
}

void TimerEvent::cancel() {
    if (!armed_)
        return;
    armed_ = false;
    --clock_.armed_;
    ++generation_;
}

uint64_t VirtualClock::cycles_to_ticks(uint64_t cycles, uint64_t freq_hz) const {
    return static_cast<uint64_t>(static_cast<unsigned __int128>(cycles) * freq_hz / hz_);
}

uint64_t VirtualClock::ticks_to_cycles(uint64_t ticks, uint64_t freq_hz) const {
    // Smallest c with floor(c * f / hz) >= ticks, i.e. ceil(ticks * hz / f).
    auto num = static_cast<unsigned __int128>(ticks) * hz_;
    auto c = (num + freq_hz - 1) / freq_hz;
    return c > kNever ? kNever : static_cast<uint64_t>(c);
}

// Min-heap on (when, seq): equal expiries fire in arming order, so the order never
// depends on anything but the guest's own actions.
static bool later(const auto& a, const auto& b) {
    return a.when != b.when ? a.when > b.when : a.seq > b.seq;
}

void VirtualClock::schedule(TimerEvent& t) {
    // Re-arming or cancelling leaves the old entry in the heap until it reaches the
    // top; one far in the future may never get there (a guest re-arming a timer 71
    // minutes ahead in a loop). When stale entries outnumber the armed timers, drop
    // them all: the heap stays within twice the armed timers (plus a little), at
    // amortised constant cost per arming.
    if (heap_.size() >= 64 && heap_.size() - armed_ > heap_.size() / 2) {
        std::erase_if(heap_, [](const Entry& e) {
            return !e.timer->armed_ || e.timer->generation_ != e.generation;
        });
        std::make_heap(heap_.begin(), heap_.end(), [](auto& a, auto& b) { return later(a, b); });
    }
    heap_.push_back({t.when_, seq_++, t.generation_, &t});
    std::push_heap(heap_.begin(), heap_.end(), [](auto& a, auto& b) { return later(a, b); });
    if (t.when_ < stop_at_) {
        // The running core stops when it gets there: the block hook's compare with
        // check_at_ finds it (no stop now, as an attention request would make).
        // (A CAS: a signal handler may set check_at_ to 0 meanwhile.)
        stop_at_ = t.when_;
        uint64_t seen = check_at_.load(std::memory_order_relaxed);
        while (t.when_ < seen &&
               !check_at_.compare_exchange_weak(seen, t.when_, std::memory_order_relaxed))
            ;
    }
}

void VirtualClock::forget(const TimerEvent& t) {
    // A destroyed timer's stale entries would point at freed memory.
    if (std::erase_if(heap_, [&t](const Entry& e) { return e.timer == &t; }) != 0)
        std::make_heap(heap_.begin(), heap_.end(), [](auto& a, auto& b) { return later(a, b); });
}

void VirtualClock::pop_stale() {
    while (!heap_.empty()) {
        const Entry& e = heap_.front();
        if (e.timer->armed_ && e.timer->generation_ == e.generation)
            return;
        std::pop_heap(heap_.begin(), heap_.end(), [](auto& a, auto& b) { return later(a, b); });
        heap_.pop_back();
    }
}

uint64_t VirtualClock::next_deadline() {
    pop_stale();
    return heap_.empty() ? kNever : heap_.front().when;
}

unsigned VirtualClock::run_due() {
    unsigned fired = 0;
    for (;;) {
        pop_stale();
        if (heap_.empty() || heap_.front().when > now_)
            return fired;
        TimerEvent* t = heap_.front().timer;
        std::pop_heap(heap_.begin(), heap_.end(), [](auto& a, auto& b) { return later(a, b); });
        heap_.pop_back();
        t->armed_ = false;
        --armed_;
        ++fired;
        t->callback_(); // may re-arm t or arm others
    }
}

} // namespace piemu
