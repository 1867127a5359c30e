// BCM2835 PM watchdog register-level tests: reset values, password enforcement, the
// stored-only PM registers, remaining ticks read at chosen virtual times, expiry at
// exactly the right cycle (Linux's restart and power-off sequences), the RSTS partition
// decode, stopping (PM_RSTC_RESET), re-arming, both arming orders, unknown offsets and
// access sizes. Expected values are numbers, not the model's constants.
//
// The default clock runs at 2^30 Hz, so one 65536 Hz watchdog tick is exactly 16384
// cycles; a 900 MHz test checks the rounding to the first cycle of a tick.
#include <gtest/gtest.h>

#include <vector>

#include "devices/bcm2835_pm_wdt.hpp"

using namespace piemu;
using Reg = Bcm2835PmWdt::Reg;

namespace {

constexpr uint64_t kTick = 16384; // cycles per watchdog tick at 2^30 Hz
constexpr uint32_t kPw = 0x5a000000;

class PmWdtTest : public ::testing::Test {
protected:
    VirtualClock clock{uint64_t(1) << 30};
    Bcm2835PmWdt wdt{"watchdog@7e100000", clock};
    std::vector<ResetKind> resets;
    std::vector<uint64_t> reset_cycles;

    void SetUp() override {
        wdt.set_reset_handler([this](ResetKind k) {
            resets.push_back(k);
            reset_cycles.push_back(clock.now());
        });
    }
    uint32_t rd(Reg r) { return wdt.read(static_cast<uint32_t>(r), 4); }
    void wr(Reg r, uint32_t v) { wdt.write(static_cast<uint32_t>(r), v, 4); }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    // bcm2835_wdt.c start(): load the timeout, then set WRCFG to full reset.
    void linux_start(uint32_t ticks) {
        wr(Reg::Wdog, kPw | (ticks & 0x000fffff));
        wr(Reg::Rstc, kPw | (rd(Reg::Rstc) & 0xffffffcf) | 0x20);
    }
    // bcm2835_wdt.c __bcm2835_restart(): 10 ticks, full reset.
    void linux_restart() { linux_start(10); }
    // bcm2835_wdt.c bcm2835_power_off(): partition 63 into RSTS, then restart.
    void linux_power_off() {
        wr(Reg::Rsts, rd(Reg::Rsts) | kPw | 0x555);
        linux_restart();
    }
    // bcm2835_wdt.c stop().
    void linux_stop() { wr(Reg::Rstc, kPw | 0x102); }
};

// ---- reset values and the password ----

TEST_F(PmWdtTest, ResetValues) {
    EXPECT_EQ(rd(Reg::Rstc), 0x102u);
    EXPECT_EQ(rd(Reg::Rsts), 0x1000u);
    EXPECT_EQ(rd(Reg::Wdog), 0u);
    EXPECT_EQ(rd(Reg::Gnric), 0u);
    EXPECT_EQ(rd(Reg::Audio), 0u);
    EXPECT_EQ(rd(Reg::Status), 0u);
    EXPECT_FALSE(wdt.running());
    EXPECT_EQ(wdt.reset_partition(), 0u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
    EXPECT_TRUE(wdt.irq_outputs().empty());
    EXPECT_EQ(wdt.mmio_size(), 0x28u);
}

TEST_F(PmWdtTest, WritesWithoutThePasswordAreIgnored) {
    wr(Reg::Wdog, 0x00000100);
    wr(Reg::Wdog, 0x5b000100);
    wr(Reg::Wdog, 0xa5000100);
    EXPECT_EQ(rd(Reg::Wdog), 0u);
    wr(Reg::Rstc, 0x00000020);
    EXPECT_EQ(rd(Reg::Rstc), 0x102u);
    EXPECT_FALSE(wdt.running());
    wr(Reg::Rsts, 0x00000555);
    EXPECT_EQ(rd(Reg::Rsts), 0x1000u);
    wr(Reg::Gnric, 0x00000001);
    EXPECT_EQ(rd(Reg::Gnric), 0u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
}

TEST_F(PmWdtTest, PasswordWritesStoreBits23To0) {
    wr(Reg::Rsts, kPw | 0x555);
    EXPECT_EQ(rd(Reg::Rsts), 0x555u) << "read back without the password";
    wr(Reg::Rsts, 0x5affffff);
    EXPECT_EQ(rd(Reg::Rsts), 0x00ffffffu);
    wr(Reg::Rstc, kPw | 0x102);
    EXPECT_EQ(rd(Reg::Rstc), 0x102u);
    wr(Reg::Wdog, 0x5affffff); // PM_WDOG_TIME_SET: 20 bits
    EXPECT_EQ(rd(Reg::Wdog), 0x000fffffu);
}

TEST_F(PmWdtTest, PowerDomainRegistersAreStoredOnly) {
    wr(Reg::Gnric, kPw | 0x00abcdef);
    wr(Reg::Audio, kPw | 0x00000011);
    wr(Reg::Status, kPw | 0x00123456);
    EXPECT_EQ(rd(Reg::Gnric), 0x00abcdefu);
    EXPECT_EQ(rd(Reg::Audio), 0x11u);
    EXPECT_EQ(rd(Reg::Status), 0x00123456u);
    EXPECT_FALSE(wdt.running());
}

// ---- the countdown ----

TEST_F(PmWdtTest, RemainingTicksAtChosenTimes) {
    run_to(1000);
    linux_start(15 << 16); // 15 s: 0xf0000 ticks
    EXPECT_TRUE(wdt.running());
    EXPECT_EQ(rd(Reg::Rstc), 0x122u);
    EXPECT_EQ(rd(Reg::Wdog), 0xf0000u);
    run_to(1000 + kTick - 1);
    EXPECT_EQ(rd(Reg::Wdog), 0xf0000u);
    run_to(1000 + kTick);
    EXPECT_EQ(rd(Reg::Wdog), 0xeffffu);
    run_to(1000 + 65536 * kTick); // one second
    EXPECT_EQ(rd(Reg::Wdog), 0xe0000u);
    EXPECT_EQ(rd(Reg::Wdog) >> 16, 14u) << "Linux get_timeleft: 14 s";
    EXPECT_TRUE(resets.empty());
}

TEST_F(PmWdtTest, LinuxRestartExpiresAtTheExactCycle) {
    run_to(5000);
    linux_restart();
    EXPECT_EQ(clock.next_deadline(), 5000 + 10 * kTick);
    run_to(5000 + 10 * kTick - 1);
    EXPECT_TRUE(resets.empty());
    EXPECT_EQ(rd(Reg::Wdog), 1u);
    run_to(5000 + 10 * kTick);
    ASSERT_EQ(resets.size(), 1u);
    EXPECT_EQ(resets[0], ResetKind::Reset);
    EXPECT_EQ(reset_cycles[0], 5000 + 10 * kTick);
    EXPECT_EQ(rd(Reg::Wdog), 0u);
    EXPECT_FALSE(wdt.running());
    EXPECT_EQ(rd(Reg::Rstc), 0x122u) << "RSTC keeps its value";
    run_to(1'000'000'000);
    EXPECT_EQ(resets.size(), 1u) << "one expiry per start";
}

TEST_F(PmWdtTest, ExpiryOnA900MHzClockIsTheFirstCycleOfTheTick) {
    // 10 ticks = 10 * 900e6 / 65536 = 137329.1 cycles: the reset comes at 137330.
    VirtualClock pi2(900'000'000);
    Bcm2835PmWdt w("wdt", pi2);
    std::vector<ResetKind> got;
    w.set_reset_handler([&](ResetKind k) { got.push_back(k); });
    w.write(0x24, kPw | 10, 4);
    w.write(0x1c, kPw | 0x20, 4);
    pi2.set_now(137'329);
    pi2.run_due();
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(w.read(0x24, 4), 1u);
    pi2.set_now(137'330);
    pi2.run_due();
    EXPECT_EQ(got, std::vector<ResetKind>{ResetKind::Reset});
}

TEST_F(PmWdtTest, Partition63PowersOff) {
    linux_power_off();
    EXPECT_EQ(rd(Reg::Rsts), 0x1555u);
    EXPECT_EQ(wdt.reset_partition(), 63u);
    run_to(10 * kTick);
    EXPECT_EQ(resets, std::vector<ResetKind>{ResetKind::PowerOff});
}

TEST_F(PmWdtTest, PartitionIsDecodedFromTheEvenBitsOnly) {
    wr(Reg::Rsts, kPw | 0x1575); // HADPOR, HADWRF, partition 63
    EXPECT_EQ(wdt.reset_partition(), 63u);
    wr(Reg::Rsts, kPw | 0x554); // partition 62
    EXPECT_EQ(wdt.reset_partition(), 62u);
    wr(Reg::Rsts, kPw | 0x011); // bits 0 and 4: partition 5
    EXPECT_EQ(wdt.reset_partition(), 5u);
    wr(Reg::Rsts, kPw | 0xaaa); // odd bits only: partition 0
    EXPECT_EQ(wdt.reset_partition(), 0u);

    wr(Reg::Rsts, kPw | 0x554);
    linux_restart();
    run_to(10 * kTick);
    wr(Reg::Rsts, kPw | 0x1575);
    linux_restart();
    run_to(20 * kTick);
    EXPECT_EQ(resets, (std::vector<ResetKind>{ResetKind::Reset, ResetKind::PowerOff}));
}

TEST_F(PmWdtTest, RstcResetCancelsAPendingExpiry) {
    linux_restart();
    run_to(5 * kTick + 100);
    linux_stop();
    EXPECT_FALSE(wdt.running());
    EXPECT_EQ(rd(Reg::Rstc), 0x102u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
    run_to(1'000'000'000);
    EXPECT_TRUE(resets.empty());
    EXPECT_EQ(rd(Reg::Wdog), 5u) << "a stopped count holds the ticks left";
}

TEST_F(PmWdtTest, ClearingWrcfgAloneAlsoStops) {
    linux_start(100);
    run_to(3 * kTick);
    wr(Reg::Rstc, kPw | (rd(Reg::Rstc) & 0xffffffcf));
    EXPECT_FALSE(wdt.running());
    run_to(1000 * kTick);
    EXPECT_TRUE(resets.empty());
}

TEST_F(PmWdtTest, RestartingAStoppedCountResumesFromWhatWasLeft) {
    linux_start(100);
    run_to(40 * kTick);
    linux_stop();
    run_to(500 * kTick);
    EXPECT_EQ(rd(Reg::Wdog), 60u);
    wr(Reg::Rstc, kPw | 0x20); // arm without loading
    run_to(560 * kTick - 1);
    EXPECT_TRUE(resets.empty());
    run_to(560 * kTick);
    EXPECT_EQ(resets.size(), 1u);
}

TEST_F(PmWdtTest, ReloadingReplacesTheTimeout) {
    linux_start(100);
    run_to(60 * kTick);
    EXPECT_EQ(rd(Reg::Wdog), 40u);
    linux_start(100); // keepalive ping: expiry moves to 160 ticks
    EXPECT_EQ(rd(Reg::Wdog), 100u);
    run_to(100 * kTick);
    EXPECT_TRUE(resets.empty());
    wr(Reg::Rstc, kPw | 0x122); // an RSTC write that stays armed does not restart
    run_to(160 * kTick - 1);
    EXPECT_TRUE(resets.empty());
    run_to(160 * kTick);
    EXPECT_EQ(resets.size(), 1u);
}

TEST_F(PmWdtTest, ReloadingWithAShorterTimeoutBringsTheExpiryForward) {
    linux_start(0xfffff);
    run_to(7 * kTick);
    wr(Reg::Wdog, kPw | 3);
    run_to(10 * kTick - 1);
    EXPECT_TRUE(resets.empty());
    run_to(10 * kTick);
    EXPECT_EQ(resets.size(), 1u);
}

TEST_F(PmWdtTest, ArmingBeforeLoadingExpiresOneLoadAfterTheLoad) {
    // Common bare-metal reboot code: RSTC first, then WDOG.
    run_to(100);
    wr(Reg::Rstc, kPw | 0x20);
    EXPECT_TRUE(wdt.running());
    run_to(200);
    wr(Reg::Wdog, kPw | 10);
    run_to(200 + 10 * kTick - 1);
    EXPECT_TRUE(resets.empty());
    run_to(200 + 10 * kTick);
    EXPECT_EQ(resets.size(), 1u);
}

TEST_F(PmWdtTest, ArmingWithNothingLoadedExpiresAfterOneTick) {
    wr(Reg::Rstc, kPw | 0x20);
    EXPECT_EQ(rd(Reg::Wdog), 0u);
    run_to(kTick - 1);
    EXPECT_TRUE(resets.empty());
    run_to(kTick);
    EXPECT_EQ(resets.size(), 1u);
}

TEST_F(PmWdtTest, LoadingWhileStoppedDoesNotStart) {
    wr(Reg::Wdog, kPw | 10);
    EXPECT_FALSE(wdt.running());
    run_to(1000 * kTick);
    EXPECT_EQ(rd(Reg::Wdog), 10u);
    EXPECT_TRUE(resets.empty());
}

TEST_F(PmWdtTest, HardResetConfigCountsAsArmedQuickDoesNot) {
    wr(Reg::Wdog, kPw | 2);
    wr(Reg::Rstc, kPw | 0x10); // WRCFG 1
    EXPECT_FALSE(wdt.running());
    wr(Reg::Rstc, kPw | 0x30); // WRCFG 3: Linux's is_running() sees bit 5
    EXPECT_TRUE(wdt.running());
    run_to(2 * kTick);
    EXPECT_EQ(resets, std::vector<ResetKind>{ResetKind::Reset});
}

TEST_F(PmWdtTest, ResetCancelsAndRestoresPowerOnValues) {
    wr(Reg::Rsts, kPw | 0x555);
    linux_restart();
    wdt.reset();
    EXPECT_FALSE(wdt.running());
    EXPECT_EQ(rd(Reg::Rstc), 0x102u);
    EXPECT_EQ(rd(Reg::Rsts), 0x1000u);
    EXPECT_EQ(rd(Reg::Wdog), 0u);
    run_to(1000 * kTick);
    EXPECT_TRUE(resets.empty());
}

TEST_F(PmWdtTest, HandlerMayResetTheDevice) {
    wdt.set_reset_handler([this](ResetKind k) {
        resets.push_back(k);
        wdt.reset();
    });
    linux_power_off();
    run_to(10 * kTick);
    EXPECT_EQ(resets, std::vector<ResetKind>{ResetKind::PowerOff});
    EXPECT_EQ(rd(Reg::Rsts), 0x1000u);
    linux_restart(); // the rebooted guest can use it again
    run_to(20 * kTick);
    EXPECT_EQ(resets, (std::vector<ResetKind>{ResetKind::PowerOff, ResetKind::Reset}));
}

TEST_F(PmWdtTest, ExpiryWithoutAHandlerIsHarmless) {
    Bcm2835PmWdt lone("wdt", clock);
    lone.write(0x24, kPw | 1, 4);
    lone.write(0x1c, kPw | 0x20, 4);
    run_to(kTick);
    EXPECT_FALSE(lone.running());
    EXPECT_EQ(lone.read(0x24, 4), 0u);
}

// ---- bad accesses ----

TEST_F(PmWdtTest, UnknownOffsetsReadZeroAndIgnoreWrites) {
    for (uint32_t offset : {0x08u, 0x0cu, 0x10u, 0x14u}) {
        wdt.write(offset, kPw | 0x123, 4);
        EXPECT_EQ(wdt.read(offset, 4), 0u) << std::hex << offset;
    }
    EXPECT_EQ(wdt.read(0x28, 4), 0u) << "outside the window";
    wdt.write(0x28, kPw | 0x20, 4);
    EXPECT_EQ(wdt.read(0x1e, 4), 0u) << "misaligned";
    EXPECT_FALSE(wdt.running());
    EXPECT_EQ(rd(Reg::Rstc), 0x102u);
}

TEST_F(PmWdtTest, NarrowWritesAreIgnoredNarrowReadsReturnLanes) {
    wdt.write(0x1c, 0x20, 1);   // RSTC low byte
    wdt.write(0x1f, 0x5a, 1);   // RSTC password byte alone
    wdt.write(0x1e, 0x5a00, 2); // RSTC upper half
    EXPECT_EQ(rd(Reg::Rstc), 0x102u);
    EXPECT_FALSE(wdt.running());
    EXPECT_EQ(wdt.read(0x1c, 1), 0x02u);
    EXPECT_EQ(wdt.read(0x1d, 1), 0x01u);
    EXPECT_EQ(wdt.read(0x20, 2), 0x1000u);
    EXPECT_EQ(wdt.read(0x22, 2), 0u);
}

} // namespace
