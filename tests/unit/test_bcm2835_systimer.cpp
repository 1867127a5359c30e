// BCM2835 system timer register-level tests: reset values, the 1 MHz counter read at
// chosen virtual times (CLO/CHI and the 64-bit carry), matches at exactly the right
// CPU cycle on 900 MHz, 1.2 GHz and a non-integral clock, write-1-to-clear, match as an
// event (clearing while equal, compares in the past or equal to now wait for the
// wrap), re-arming, four independent channels, line levels only through update(),
// unknown offsets and sub-word accesses. Expected values are written as numbers, not
// with the model's constants, so a wrong constant in the model fails here.
//
// The default clock is 900 MHz: the counter reads T from cycle 900 * T on.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "devices/bcm2835_systimer.hpp"

using namespace piemu;
using Reg = Bcm2835Systimer::Reg;

namespace {

constexpr uint64_t kWrapUs = uint64_t(1) << 32;

struct RecordingSink : IrqSink {
    std::vector<std::pair<unsigned, bool>> calls;
    void set_irq_input(unsigned input, bool level) override { calls.emplace_back(input, level); }
};

class SystimerTest : public ::testing::Test {
protected:
    VirtualClock clock{900'000'000};
    Bcm2835Systimer st{"timer@7e003000", clock};
    RecordingSink sink;

    void SetUp() override {
        for (unsigned n = 0; n < 4; ++n)
            st.irq(n).connect(&sink, n); // GPU IRQ 0..3
    }
    uint32_t rd(Reg r) { return st.read(static_cast<uint32_t>(r), 4); }
    void wr(Reg r, uint32_t v) { st.write(static_cast<uint32_t>(r), v, 4); }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    // The cycle at which the 900 MHz counter reads `us`.
    static uint64_t at_us(uint64_t us) { return us * 900; }
    bool line(unsigned n) { return st.irq(n).level(); }
};

// ---- reset values and the counter ----

TEST_F(SystimerTest, ResetValues) {
    EXPECT_EQ(rd(Reg::Cs), 0u);
    EXPECT_EQ(rd(Reg::Clo), 0u);
    EXPECT_EQ(rd(Reg::Chi), 0u);
    EXPECT_EQ(rd(Reg::C0), 0u);
    EXPECT_EQ(rd(Reg::C1), 0u);
    EXPECT_EQ(rd(Reg::C2), 0u);
    EXPECT_EQ(rd(Reg::C3), 0u);
    for (unsigned n = 0; n < 4; ++n)
        EXPECT_FALSE(line(n));
    EXPECT_TRUE(sink.calls.empty());
    // Compare 0 with the counter at 0: the first match is a whole wrap away.
    EXPECT_EQ(clock.next_deadline(), at_us(kWrapUs));
}

TEST_F(SystimerTest, CounterReadsTheVirtualClockAt1MHz) {
    run_to(899);
    EXPECT_EQ(rd(Reg::Clo), 0u);
    run_to(900);
    EXPECT_EQ(rd(Reg::Clo), 1u);
    run_to(1799);
    EXPECT_EQ(rd(Reg::Clo), 1u);
    run_to(900'000'000); // one virtual second
    EXPECT_EQ(rd(Reg::Clo), 1'000'000u);
    EXPECT_EQ(rd(Reg::Chi), 0u);
    EXPECT_EQ(st.counter(), 1'000'000u);
}

TEST_F(SystimerTest, CounterCarriesIntoChi) {
    run_to(at_us(0xffffffffull));
    EXPECT_EQ(rd(Reg::Clo), 0xffffffffu);
    EXPECT_EQ(rd(Reg::Chi), 0u);
    run_to(at_us(0x100000000ull) - 1);
    EXPECT_EQ(rd(Reg::Clo), 0xffffffffu);
    run_to(at_us(0x100000000ull));
    EXPECT_EQ(rd(Reg::Clo), 0u);
    EXPECT_EQ(rd(Reg::Chi), 1u);
    run_to(at_us(0x2'1234'5678ull));
    EXPECT_EQ(rd(Reg::Clo), 0x12345678u);
    EXPECT_EQ(rd(Reg::Chi), 2u);
}

TEST_F(SystimerTest, CounterOnA1200MHzClock) {
    VirtualClock pi3(1'200'000'000);
    Bcm2835Systimer t("timer", pi3);
    pi3.set_now(1199);
    EXPECT_EQ(t.read(0x04, 4), 0u);
    pi3.set_now(1200);
    EXPECT_EQ(t.read(0x04, 4), 1u);
    pi3.set_now(1'200'000'000ull * 5000); // 5000 s: 5e9 us, past 2^32
    EXPECT_EQ(t.read(0x04, 4), static_cast<uint32_t>(5'000'000'000ull));
    EXPECT_EQ(t.read(0x08, 4), 1u);
}

// ---- matches at the exact cycle ----

TEST_F(SystimerTest, MatchAtTheExactCycleOn900MHz) {
    wr(Reg::C1, 1000);
    EXPECT_EQ(clock.next_deadline(), 900'000u);
    run_to(899'999);
    EXPECT_EQ(rd(Reg::Cs), 0u);
    EXPECT_FALSE(line(1));
    run_to(900'000);
    EXPECT_EQ(rd(Reg::Clo), 1000u);
    EXPECT_EQ(rd(Reg::Cs), 0x2u);
    EXPECT_TRUE(line(1));
    EXPECT_FALSE(line(0));
    EXPECT_FALSE(line(2));
    EXPECT_FALSE(line(3));
}

TEST_F(SystimerTest, MatchAtTheExactCycleOn1200MHz) {
    VirtualClock pi3(1'200'000'000);
    Bcm2835Systimer t("timer", pi3);
    t.write(0x18, 12345, 4); // C3
    pi3.set_now(12345 * 1200 - 1);
    pi3.run_due();
    EXPECT_EQ(t.read(0x00, 4), 0u);
    pi3.set_now(12345 * 1200);
    pi3.run_due();
    EXPECT_EQ(t.read(0x00, 4), 0x8u);
    EXPECT_TRUE(t.irq(3).level());
}

TEST_F(SystimerTest, MatchOnAClockThatIsNoMultipleOf1MHz) {
    // 333333333 Hz: the counter reads 1000 first at cycle 333334
    // (333333 * 1e6 / 333333333 = 999.999, 333334 * 1e6 / 333333333 = 1000.002).
    VirtualClock odd(333'333'333);
    Bcm2835Systimer t("timer", odd);
    t.write(0x0c, 1000, 4); // C0
    odd.set_now(333'333);
    odd.run_due();
    EXPECT_EQ(t.read(0x04, 4), 999u);
    EXPECT_EQ(t.read(0x00, 4), 0u);
    odd.set_now(333'334);
    odd.run_due();
    EXPECT_EQ(t.read(0x04, 4), 1000u);
    EXPECT_EQ(t.read(0x00, 4), 0x1u);
}

TEST_F(SystimerTest, LateRunDueStillSetsTheFlagAndKeepsTheNextMatchExact) {
    wr(Reg::C2, 50);
    run_to(at_us(80)); // the run loop came back late
    EXPECT_EQ(rd(Reg::Cs), 0x4u);
    wr(Reg::Cs, 0x4);
    run_to(at_us(kWrapUs + 50) - 1); // re-armed from 50, not from 80
    EXPECT_EQ(rd(Reg::Cs) & 0x4u, 0u);
    run_to(at_us(kWrapUs + 50));
    EXPECT_EQ(rd(Reg::Cs) & 0x4u, 0x4u);
}

// ---- CS: write 1 to clear ----

TEST_F(SystimerTest, CsWriteOneClearsExactlyThoseFlags) {
    wr(Reg::C0, 10);
    wr(Reg::C1, 10);
    wr(Reg::C3, 10);
    run_to(at_us(10));
    ASSERT_EQ(rd(Reg::Cs), 0xbu);
    wr(Reg::Cs, 0);
    EXPECT_EQ(rd(Reg::Cs), 0xbu);
    wr(Reg::Cs, 0x2);
    EXPECT_EQ(rd(Reg::Cs), 0x9u);
    EXPECT_FALSE(line(1));
    EXPECT_TRUE(line(0));
    EXPECT_TRUE(line(3));
    wr(Reg::Cs, 0xfffffff4); // M2 is clear already; bits above 3 mean nothing
    EXPECT_EQ(rd(Reg::Cs), 0x9u);
    wr(Reg::Cs, 0xf);
    EXPECT_EQ(rd(Reg::Cs), 0u);
    for (unsigned n = 0; n < 4; ++n)
        EXPECT_FALSE(line(n));
}

TEST_F(SystimerTest, CompareWriteDoesNotClearTheFlag) {
    wr(Reg::C1, 10);
    run_to(at_us(10));
    wr(Reg::C1, 500);
    EXPECT_EQ(rd(Reg::Cs), 0x2u);
    EXPECT_TRUE(line(1));
}

TEST_F(SystimerTest, MatchWhileTheFlagIsSetKeepsItSet) {
    wr(Reg::C1, 10);
    run_to(at_us(10));
    wr(Reg::C1, 20);
    run_to(at_us(20));
    EXPECT_EQ(rd(Reg::Cs), 0x2u);
    ASSERT_EQ(sink.calls.size(), 1u) << "one rise, no toggle";
    EXPECT_EQ(sink.calls[0], std::make_pair(1u, true));
}

TEST_F(SystimerTest, ClearingWhileStillEqualWaitsForTheNextWrap) {
    wr(Reg::C0, 100);
    run_to(at_us(100));
    ASSERT_EQ(rd(Reg::Cs), 0x1u);
    wr(Reg::Cs, 0x1); // CLO still reads 100
    EXPECT_EQ(rd(Reg::Clo), 100u);
    run_to(at_us(100) + 899); // still 100
    EXPECT_EQ(rd(Reg::Cs), 0u);
    run_to(at_us(200));
    EXPECT_EQ(rd(Reg::Cs), 0u);
    // (C1-C3 hold 0 and match at the wrap too: only M0 is looked at from here.)
    run_to(at_us(kWrapUs + 100) - 1);
    EXPECT_EQ(rd(Reg::Cs) & 0x1u, 0u);
    run_to(at_us(kWrapUs + 100));
    EXPECT_EQ(rd(Reg::Cs) & 0x1u, 0x1u);
    EXPECT_EQ(rd(Reg::Chi), 1u);
    EXPECT_EQ(rd(Reg::Clo), 100u);
}

// ---- compares behind or at the counter ----

TEST_F(SystimerTest, CompareInThePastMatchesAfterTheWrap) {
    run_to(at_us(5000));
    wr(Reg::C2, 100);
    run_to(at_us(kWrapUs + 100) - 1);
    EXPECT_EQ(rd(Reg::Cs) & 0x4u, 0u);
    run_to(at_us(kWrapUs + 100));
    EXPECT_EQ(rd(Reg::Cs) & 0x4u, 0x4u);
    EXPECT_TRUE(line(2));
}

TEST_F(SystimerTest, CompareEqualToTheCounterNowMatchesAfterTheWrap) {
    run_to(at_us(5000) + 450); // mid-microsecond: CLO reads 5000
    wr(Reg::C0, 5000);
    clock.run_due();
    EXPECT_EQ(rd(Reg::Cs), 0u);
    run_to(at_us(5001));
    EXPECT_EQ(rd(Reg::Cs), 0u);
    run_to(at_us(kWrapUs + 5000) - 1);
    EXPECT_EQ(rd(Reg::Cs) & 0x1u, 0u);
    run_to(at_us(kWrapUs + 5000));
    EXPECT_EQ(rd(Reg::Cs) & 0x1u, 0x1u);
}

TEST_F(SystimerTest, CompareOneAheadMatchesAtTheNextMicrosecond) {
    run_to(at_us(5000) + 450);
    wr(Reg::C0, 5001);
    run_to(at_us(5001) - 1);
    EXPECT_EQ(rd(Reg::Cs), 0u);
    run_to(at_us(5001));
    EXPECT_EQ(rd(Reg::Cs), 0x1u);
}

TEST_F(SystimerTest, CompareAheadAcrossTheWrapOfTheLowWord) {
    run_to(at_us(0xfffffff0ull));
    wr(Reg::C3, 0x10); // 0x20 us ahead, in the next CHI
    run_to(at_us(0x100000010ull) - 1);
    EXPECT_EQ(rd(Reg::Cs) & 0x8u, 0u);
    run_to(at_us(0x100000010ull));
    EXPECT_EQ(rd(Reg::Cs) & 0x8u, 0x8u);
}

// ---- re-arming ----

TEST_F(SystimerTest, RewritingTheCompareReArms) {
    wr(Reg::C1, 1000);
    run_to(at_us(500));
    wr(Reg::C1, 2000); // later: the old match is gone
    run_to(at_us(1000));
    EXPECT_EQ(rd(Reg::Cs), 0u);
    run_to(at_us(1500));
    wr(Reg::C1, 1700); // earlier again
    run_to(at_us(1700) - 1);
    EXPECT_EQ(rd(Reg::Cs), 0u);
    run_to(at_us(1700));
    EXPECT_EQ(rd(Reg::Cs), 0x2u);
    wr(Reg::Cs, 0x2);
    run_to(at_us(2000));
    EXPECT_EQ(rd(Reg::Cs), 0u) << "2000 was replaced";
}

TEST_F(SystimerTest, LinuxStyleOneShotReprogramming) {
    // bcm2835_timer.c: compare = CLO + delta, ack through CS in the handler.
    uint64_t now = at_us(12'345) + 7;
    for (int i = 0; i < 3; ++i) {
        run_to(now);
        wr(Reg::C3, rd(Reg::Clo) + 0xf);
        uint32_t due = rd(Reg::C3);
        run_to(at_us(due) - 1);
        EXPECT_FALSE(line(3));
        run_to(at_us(due));
        EXPECT_TRUE(line(3));
        wr(Reg::Cs, 0x8);
        EXPECT_FALSE(line(3));
        now = at_us(due) + 123;
    }
}

// ---- four channels ----

TEST_F(SystimerTest, FourChannelsAreIndependent) {
    wr(Reg::C0, 400);
    wr(Reg::C1, 100);
    wr(Reg::C2, 300);
    wr(Reg::C3, 200);
    run_to(at_us(100));
    EXPECT_EQ(rd(Reg::Cs), 0x2u);
    run_to(at_us(200));
    EXPECT_EQ(rd(Reg::Cs), 0xau);
    wr(Reg::Cs, 0x2);
    EXPECT_EQ(rd(Reg::Cs), 0x8u);
    run_to(at_us(300));
    EXPECT_EQ(rd(Reg::Cs), 0xcu);
    wr(Reg::C3, 350); // re-arming C3 leaves the others alone
    run_to(at_us(350));
    EXPECT_EQ(rd(Reg::Cs), 0xcu);
    run_to(at_us(400));
    EXPECT_EQ(rd(Reg::Cs), 0xdu);
    EXPECT_TRUE(line(0));
    EXPECT_FALSE(line(1));
    EXPECT_TRUE(line(2));
    EXPECT_TRUE(line(3));
    EXPECT_EQ(rd(Reg::C0), 400u);
    EXPECT_EQ(rd(Reg::C1), 100u);
    EXPECT_EQ(rd(Reg::C2), 300u);
    EXPECT_EQ(rd(Reg::C3), 350u);
}

TEST_F(SystimerTest, TwoChannelsMatchingAtTheSameCycle) {
    wr(Reg::C0, 77);
    wr(Reg::C2, 77);
    run_to(at_us(77));
    EXPECT_EQ(rd(Reg::Cs), 0x5u);
}

// ---- lines ----

TEST_F(SystimerTest, IrqOutputsAreTheFourMatchLinesInOrder) {
    auto lines = st.irq_outputs();
    ASSERT_EQ(lines.size(), 4u);
    for (unsigned n = 0; n < 4; ++n)
        EXPECT_EQ(lines[n], &st.irq(n));
}

TEST_F(SystimerTest, LinesChangeOnlyThroughUpdate) {
    wr(Reg::C1, 10);
    wr(Reg::C3, 20);
    wr(Reg::Cs, 0xf); // nothing set: no line change
    EXPECT_TRUE(sink.calls.empty());
    run_to(at_us(10));
    run_to(at_us(20));
    wr(Reg::Cs, 0x8);
    wr(Reg::Cs, 0x8); // already clear: no call
    wr(Reg::Cs, 0x2);
    const std::vector<std::pair<unsigned, bool>> expected = {
        {1, true}, {3, true}, {3, false}, {1, false}};
    EXPECT_EQ(sink.calls, expected);
}

TEST_F(SystimerTest, ResetClearsFlagsLowersLinesAndReArms) {
    wr(Reg::C1, 10);
    run_to(at_us(10));
    ASSERT_TRUE(line(1));
    run_to(at_us(1000));
    st.reset();
    EXPECT_EQ(rd(Reg::Cs), 0u);
    EXPECT_EQ(rd(Reg::C1), 0u);
    EXPECT_FALSE(line(1));
    EXPECT_EQ(rd(Reg::Clo), 1000u) << "the counter is the clock's, not the device's";
    EXPECT_EQ(clock.next_deadline(), at_us(kWrapUs)) << "compares 0 match at the wrap";
}

// ---- bad accesses ----

TEST_F(SystimerTest, UnknownOffsetsReadZeroAndIgnoreWrites) {
    wr(Reg::C0, 0x1234);
    for (uint32_t offset : {0x1cu, 0x20u, 0x100u, 0xffcu}) {
        st.write(offset, 0xffffffff, 4);
        EXPECT_EQ(st.read(offset, 4), 0u) << std::hex << offset;
    }
    EXPECT_EQ(st.read(0x1000, 4), 0u) << "outside the window";
    EXPECT_EQ(rd(Reg::C0), 0x1234u);
    EXPECT_EQ(rd(Reg::Cs), 0u);
}

TEST_F(SystimerTest, CounterIsReadOnly) {
    run_to(at_us(42));
    wr(Reg::Clo, 0);
    wr(Reg::Chi, 5);
    EXPECT_EQ(rd(Reg::Clo), 42u);
    EXPECT_EQ(rd(Reg::Chi), 0u);
}

TEST_F(SystimerTest, SubWordAccesses) {
    run_to(at_us(0x12345678));
    EXPECT_EQ(st.read(0x04, 1), 0x78u);
    EXPECT_EQ(st.read(0x05, 1), 0x56u);
    EXPECT_EQ(st.read(0x06, 2), 0x1234u);
    wr(Reg::C0, 0xaaaa5555);
    st.write(0x0e, 0x1357, 2); // upper half of C0
    EXPECT_EQ(rd(Reg::C0), 0x13575555u);
    st.write(0x0c, 0x99, 1);
    EXPECT_EQ(rd(Reg::C0), 0x13575599u);

    wr(Reg::C1, 0x12345679);
    wr(Reg::C2, 0x12345679);
    run_to(at_us(0x12345679));
    ASSERT_EQ(rd(Reg::Cs), 0x6u);
    st.write(0x00, 0x04, 1); // byte write to CS: clears M2 only
    EXPECT_EQ(rd(Reg::Cs), 0x2u);
    st.write(0x01, 0xff, 1); // CS bits 15:8 mean nothing
    EXPECT_EQ(rd(Reg::Cs), 0x2u);

    EXPECT_EQ(st.read(0x06, 4), 0u) << "misaligned";
    st.write(0x11, 0, 2); // misaligned: ignored
    EXPECT_EQ(rd(Reg::C1), 0x12345679u);
}

} // namespace
