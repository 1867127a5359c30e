// The generic timer through guest code: every c14 access is intercepted (code hooks
// found by scanning translations, CNTHCTL traps as the backstop) and emulated from
// the virtual clock.
#include <vector>

#include <gtest/gtest.h>

#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"

using namespace piemu;

namespace {

class RecordingSink : public IrqSink {
public:
    void set_irq_input(unsigned input, bool level) override { levels[input] = level; }
    bool levels[4] = {};
};

class TimerTest : public ::testing::Test {
protected:
    // 1 GHz CPU clock and the Pi's 19.2 MHz counter: 1 tick = 52.083 cycles.
    TimerTest() : clock(1'000'000'000), bus(16u << 20), core(0, clock, bus, 19'200'000) {}
    void SetUp() override {
        ASSERT_FALSE(core.init().is_error());
        for (unsigned i = 0; i < 4; ++i)
            core.timer().output(GenericTimer::Output(i)).connect(&sink, i);
    }
    void put(uint32_t addr, std::vector<uint32_t> words) {
        ASSERT_TRUE(
            bus.write_phys(addr, {reinterpret_cast<uint8_t*>(words.data()), words.size() * 4}));
    }
    // Runs from `pc` in `mode` until something other than a Yield stops the core.
    StopInfo run_from(uint32_t pc, uint32_t mode = 0x13) {
        core.set_cpsr((core.cpsr() & ~0x1fu) | mode | psr::I | psr::F);
        core.set_pc(pc, false);
        clock.set_stop_at(VirtualClock::kNever);
        StopInfo s;
        for (int i = 0; i < 100; ++i) {
            s = core.run();
            if (s.reason != StopReason::Yield)
                break;
        }
        return s;
    }

    VirtualClock clock;
    Bus bus;
    ArmCore core;
    RecordingSink sink;
};

constexpr uint32_t kWfi = 0xe320f003;

} // namespace

TEST_F(TimerTest, CountersFollowTheVirtualClockNotHostTime) {
    clock.set_now(1'000'000'000); // 1 s of virtual time
    // mrrc p15,1,r0,r1,c14 (CNTVCT); mrrc p15,0,r2,r3,c14 (CNTPCT); mrc CNTFRQ -> r4
    put(0x8000, {0xec510f1e, 0xec532f0e, 0xee1e4f10, kWfi});
    StopInfo s = run_from(0x8000);
    ASSERT_EQ(s.reason, StopReason::Wfi);
    // The block's 4 instructions are counted when it starts: 4 cycles after 1 s.
    uint64_t expected = (1'000'000'004ull * 19'200'000) / 1'000'000'000;
    EXPECT_EQ(core.reg(0), uint32_t(expected));
    EXPECT_EQ(core.reg(1), uint32_t(expected >> 32));
    EXPECT_EQ(core.reg(2), uint32_t(expected));
    EXPECT_EQ(core.reg(4), 19'200'000u);
    EXPECT_GE(core.c14_hook_count(), 3u);
}

TEST_F(TimerTest, VirtualTimerRaisesCntvAtCvalAndImaskHoldsItLow) {
    // mov r0,#960 (50 us at 19.2 MHz); mcr CNTV_TVAL, r0; mov r0,#1; mcr CNTV_CTL, r0; wfi
    put(0x8000, {0xe3a00e3c, 0xee0e0f13, 0xe3a00001, 0xee0e0f33, kWfi});
    StopInfo s = run_from(0x8000);
    ASSERT_EQ(s.reason, StopReason::Wfi);
    EXPECT_FALSE(sink.levels[GenericTimer::kCntv]);
    uint64_t deadline = clock.next_deadline();
    ASSERT_NE(deadline, VirtualClock::kNever);
    clock.set_now(deadline - 1);
    clock.run_due();
    EXPECT_FALSE(sink.levels[GenericTimer::kCntv]) << "one cycle early";
    clock.set_now(deadline);
    clock.run_due();
    EXPECT_TRUE(sink.levels[GenericTimer::kCntv]);
    EXPECT_FALSE(sink.levels[GenericTimer::kCntpns]);

    // mrc CNTV_CTL -> r1 (ISTATUS|ENABLE); mov r0,#3; mcr CNTV_CTL (IMASK); mrc -> r2; wfi
    put(0x8100, {0xee1e1f33, 0xe3a00003, 0xee0e0f33, 0xee1e2f33, kWfi});
    s = run_from(0x8100);
    ASSERT_EQ(s.reason, StopReason::Wfi);
    EXPECT_EQ(core.reg(1), 0x5u);
    EXPECT_EQ(core.reg(2), 0x7u) << "ISTATUS stays set under IMASK";
    EXPECT_FALSE(sink.levels[GenericTimer::kCntv]) << "IMASK holds the line low";
}

TEST_F(TimerTest, PhysicalTimerRaisesCntpns) {
    // mov r0,#100; mcr CNTP_TVAL; mov r0,#1; mcr CNTP_CTL; wfi
    put(0x8000, {0xe3a00064, 0xee0e0f12, 0xe3a00001, 0xee0e0f32, kWfi});
    ASSERT_EQ(run_from(0x8000).reason, StopReason::Wfi);
    clock.set_now(clock.next_deadline());
    clock.run_due();
    EXPECT_TRUE(sink.levels[GenericTimer::kCntpns]);
    EXPECT_FALSE(sink.levels[GenericTimer::kCntv]);
}

TEST_F(TimerTest, UserModeAccessNeedsCntkctl) {
    put(0x8000, {0xec510f1e, kWfi}); // mrrc CNTVCT
    StopInfo s = run_from(0x8000, 0x10);
    EXPECT_EQ(s.reason, StopReason::Undefined);
    EXPECT_EQ(s.pc, 0x8000u);
    // mov r0,#2 (PL0VCTEN); mcr CNTKCTL, r0; wfi  -- from SVC
    put(0x8100, {0xe3a00002, 0xee0e0f11, kWfi});
    ASSERT_EQ(run_from(0x8100).reason, StopReason::Wfi);
    EXPECT_EQ(run_from(0x8000, 0x10).reason, StopReason::Wfi);
}

TEST_F(TimerTest, HypOnlyRegistersAreUndefinedFromSvc) {
    put(0x8000, {0xec510f4e, kWfi}); // mrrc p15,4,r0,r1,c14: CNTVOFF
    StopInfo s = run_from(0x8000);
    EXPECT_EQ(s.reason, StopReason::Undefined);
    put(0x8100, {0xee0e0f10, kWfi}); // mcr CNTFRQ from SVC: only Hyp may write it
    EXPECT_EQ(run_from(0x8100).reason, StopReason::Undefined);
}

// From Hyp mode they are accessible. (Unicorn's Cortex-A7 never enters Hyp, so this
// asks the timer directly, as the interception would for a core in Hyp.)
TEST_F(TimerTest, HypOnlyRegistersAreAccessibleFromHyp) {
    GenericTimer& t = core.timer();
    CpAccess cntvoff;
    cntvoff.is64 = true;
    cntvoff.opc1 = 4;
    cntvoff.crm = 14;
    uint64_t v = 0x123456789ull;
    EXPECT_EQ(t.access(cntvoff, 0x13, v), GenericTimer::Result::Undefined) << "from SVC";
    EXPECT_EQ(t.access(cntvoff, 0x1a, v), GenericTimer::Result::Ok) << "CNTVOFF write from Hyp";
    cntvoff.read = true;
    uint64_t back = 0;
    EXPECT_EQ(t.access(cntvoff, 0x1a, back), GenericTimer::Result::Ok);
    EXPECT_EQ(back, 0x123456789ull);
}

TEST_F(TimerTest, CodeWrittenAtRunTimeIsIntercepted) {
    clock.set_now(2'000'000'000);
    // First run plain code at 0x9000, then let the guest overwrite it with an mrrc
    // (str r1,[r2]) and run it again.
    put(0x9000, {0xe3a00000, 0xe12fff1e}); // mov r0,#0; bx lr
    // ldr r1,=0xec510f1e via movw/movt; mov r2,#0x9000; bl 0x9000; str r1,[r2];
    // bl 0x9000; wfi
    put(0x8000, {0xe3001f1e, 0xe34e1c51, 0xe3a02a09, 0xeb0003fb, 0xe5821000, 0xeb0003f9, kWfi});
    StopInfo s = run_from(0x8000);
    ASSERT_EQ(s.reason, StopReason::Wfi);
    // Expect the counter in r0 (low half): anything near 2 s at 19.2 MHz.
    EXPECT_NEAR(double(core.reg(0)), 38'400'000.0, 1000.0);
}

TEST_F(TimerTest, ThumbCounterRead) {
    clock.set_now(1'000'000'000);
    // movs r0,#0; mrrc p15,1,r0,r1,c14; adds r2,r0,#0; wfi  (Thumb)
    std::vector<uint16_t> code = {0x2000, 0xec51, 0x0f1e, 0x1c02, 0xbf30};
    ASSERT_TRUE(bus.write_phys(0xa000, {reinterpret_cast<uint8_t*>(code.data()), code.size() * 2}));
    core.set_cpsr((core.cpsr() & ~0x1fu) | 0x13 | psr::I | psr::F);
    core.set_pc(0xa000, true);
    clock.set_stop_at(VirtualClock::kNever);
    StopInfo s;
    for (int i = 0; i < 100 && (s = core.run()).reason == StopReason::Yield; ++i) {
    }
    ASSERT_EQ(s.reason, StopReason::Wfi);
    EXPECT_NEAR(double(core.reg(0)), 19'200'000.0, 100.0);
    EXPECT_EQ(core.reg(2), core.reg(0)) << "execution went on after the emulated access";
}

// Regression: once a c14 code hook existed, a block-hook stop (timer due, IRQ line)
// resumed at Unicorn's stale PC (the previous block's) instead of the block it
// stopped before, so that block ran twice, or an IRQ returned to the wrong place.
TEST_F(TimerTest, StopsAfterAC14HookResumeAtTheBlockThatDidNotRun) {
    // mrc CNTFRQ -> r4 (installs the code hook); mov r0,#0; mov r1,#0; b 0x8100
    put(0x8000, {0xee1e4f10, 0xe3a00000, 0xe3a01000, 0xea00003b});
    // A loop of two blocks: 0x8100: add r0,r0,#1; b 0x8110
    //                       0x8110: add r1,r1,#1; cmp r1,#0x1000; bne 0x8100; wfi
    put(0x8100, {0xe2800001, 0xea000001});
    put(0x8110, {0xe2811001, 0xe3510a01, 0x1afffff8, kWfi});
    core.set_cpsr((core.cpsr() & ~0x1fu) | 0x13 | psr::I | psr::F);
    core.set_pc(0x8000, false);
    clock.set_stop_at(VirtualClock::kNever);
    ASSERT_EQ(core.run().reason, StopReason::Yield); // installs the hook, retranslates
    for (int i = 0; i < 20; ++i) {                   // stops before either block of the loop
        clock.set_stop_at(clock.now() + 7 + i);
        StopInfo s = core.run();
        ASSERT_EQ(s.reason, StopReason::Yield);
        uint32_t r0 = core.reg(0), r1 = core.reg(1);
        if (core.pc() == 0x8100)
            EXPECT_EQ(r0, r1) << "stop " << i;
        else
            EXPECT_TRUE(core.pc() == 0x8110 && r0 == r1 + 1)
                << "stop " << i << ": pc 0x" << std::hex << core.pc() << " r0 " << r0 << " r1 "
                << r1;
        EXPECT_EQ(s.pc, core.pc());
    }
    clock.set_stop_at(VirtualClock::kNever);
    ASSERT_EQ(core.run().reason, StopReason::Wfi);
    EXPECT_EQ(core.reg(0), 0x1000u);
    EXPECT_EQ(core.reg(1), 0x1000u);
    EXPECT_EQ(core.reg(4), 19'200'000u);
}
