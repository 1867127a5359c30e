// The virtual clock's event queue: order, re-arming, and that stale entries neither
// pile up nor outlive their timers.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "piemu/clock.hpp"

using namespace piemu;

TEST(Clock, TimersFireInExpiryThenArmingOrder) {
    VirtualClock clock(1000);
    std::vector<int> fired;
    TimerEvent a(clock, "a", [&] { fired.push_back(1); });
    TimerEvent b(clock, "b", [&] { fired.push_back(2); });
    TimerEvent c(clock, "c", [&] { fired.push_back(3); });
    c.arm_at(20);
    b.arm_at(10);
    a.arm_at(20);
    a.arm_at(10); // re-armed: its first entry is stale, it fires once, after b
    EXPECT_EQ(clock.armed(), 3u);
    clock.set_now(20);
    EXPECT_EQ(clock.run_due(), 3u);
    EXPECT_EQ(fired, (std::vector<int>{2, 1, 3}));
    EXPECT_EQ(clock.armed(), 0u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
}

// A guest re-arming a timer far ahead (the system timer's compare 71 minutes away)
// over and over: each arming left an entry that only reaching its time removed, so
// the queue grew by one entry per write for as long as the guest kept writing.
TEST(Clock, ReArmingFarAheadDoesNotGrowTheQueue) {
    VirtualClock clock(1'000'000);
    int fired = 0;
    TimerEvent near(clock, "near", [&] { ++fired; });
    TimerEvent far(clock, "far", [&] { ++fired; });
    near.arm_at(5);
    for (uint64_t i = 0; i < 100'000; ++i) {
        far.arm_at(1'000'000'000 + i);
        ASSERT_LE(clock.queued(), 64u) << "after " << i + 1 << " armings";
    }
    for (int i = 0; i < 1000; ++i) { // cancelled and re-armed: the same
        far.cancel();
        far.arm_at(2'000'000'000);
    }
    EXPECT_LE(clock.queued(), 64u);
    EXPECT_EQ(clock.armed(), 2u);
    // Dropping stale entries kept the live ones and their order.
    EXPECT_EQ(clock.next_deadline(), 5u);
    clock.set_now(5);
    EXPECT_EQ(clock.run_due(), 1u);
    EXPECT_EQ(clock.next_deadline(), 2'000'000'000u);
    clock.set_now(2'000'000'000);
    EXPECT_EQ(clock.run_due(), 1u);
    EXPECT_EQ(fired, 2);
}

// A timer destroyed while armed (or after being re-armed) left entries pointing at
// it; the queue read the freed timer when they reached the top (ASan:
// heap-use-after-free), e.g. a kernel model timer replaced by a new one.
TEST(Clock, DestroyedTimerLeavesNoEntry) {
    VirtualClock clock(1000);
    int fired = 0;
    TimerEvent keep(clock, "keep", [&] { ++fired; });
    keep.arm_at(100);
    auto gone = std::make_unique<TimerEvent>(clock, "gone", [&] { fired += 10; });
    gone->arm_at(10);
    gone->arm_at(50);
    EXPECT_EQ(clock.queued(), 3u);
    gone.reset();
    EXPECT_EQ(clock.queued(), 1u);
    EXPECT_EQ(clock.armed(), 1u);
    EXPECT_EQ(clock.next_deadline(), 100u);
    clock.set_now(100);
    EXPECT_EQ(clock.run_due(), 1u);
    EXPECT_EQ(fired, 1);
}
