// BCM2836 local interrupt controller register-level tests: reset values and register
// masks, GPU IRQ/FIQ routing to each core, per-core timer interrupt control (IRQ versus
// FIQ, FIQ wins), mailboxes, the IRQ/FIQ source registers, PMU routing, the local timer
// in virtual time, the 64-bit core timer and its LS/MS latching, DT specifier
// translation, unknown offsets, sub-word accesses, and that the output lines change only
// through update(). Expected values are numbers taken from QA7 rev 3.4, not the model's
// constants, so a wrong constant fails here.
//
// The clock runs at 76.8 MHz: one 19.2 MHz crystal tick is exactly 4 cycles and one
// 38.4 MHz local timer tick exactly 2 cycles.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "devices/bcm2835_armctrl.hpp"
#include "devices/bcm2836_local_intc.hpp"

using namespace piemu;
using Reg = Bcm2836LocalIntc::Reg;

namespace {

constexpr uint64_t kHz = 76'800'000;

struct RecordingSink : IrqSink {
    std::vector<std::pair<unsigned, bool>> calls;
    void set_irq_input(unsigned input, bool level) override { calls.emplace_back(input, level); }
};

// Register addresses.
constexpr uint32_t kTimerCtl = 0x40;
constexpr uint32_t kMboxCtl = 0x50;
constexpr uint32_t kIrqSrc = 0x60;
constexpr uint32_t kFiqSrc = 0x70;
constexpr uint32_t mbox_set(unsigned core, unsigned m) {
    return 0x80 + 0x10 * core + 4 * m;
}
constexpr uint32_t mbox_clr(unsigned core, unsigned m) {
    return 0xc0 + 0x10 * core + 4 * m;
}
// Input numbers: core c's timers at 16c + 0..3, its PMU at 16c + 9; GPU IRQ 64, FIQ 65.
constexpr unsigned in(unsigned core, unsigned line) {
    return core * 16 + line;
}
constexpr unsigned kGpuIrq = 64;
constexpr unsigned kGpuFiq = 65;

class LocalIntcTest : public ::testing::Test {
protected:
    VirtualClock clock{kHz};
    Bcm2836LocalIntc intc{"local_intc", clock};
    RecordingSink sink; // core c's IRQ arrives as input c, its FIQ as 4 + c

    void SetUp() override {
        for (unsigned c = 0; c < 4; ++c) {
            intc.core_irq(c).connect(&sink, c);
            intc.core_fiq(c).connect(&sink, 4 + c);
        }
    }
    uint32_t rd(uint32_t off) { return intc.read(off, 4); }
    uint32_t rd(Reg r) { return rd(static_cast<uint32_t>(r)); }
    void wr(uint32_t off, uint32_t v) { intc.write(off, v, 4); }
    void wr(Reg r, uint32_t v) { wr(static_cast<uint32_t>(r), v); }
    void line(unsigned input, bool level) { intc.irq_sink().set_irq_input(input, level); }
    void run_to(uint64_t cycle) {
        clock.set_now(cycle);
        clock.run_due();
    }
    // The four IRQ lines as bits 0-3, the four FIQ lines as bits 4-7.
    unsigned lines() {
        unsigned v = 0;
        for (unsigned c = 0; c < 4; ++c) {
            v |= intc.core_irq(c).level() ? 1u << c : 0;
            v |= intc.core_fiq(c).level() ? 1u << (4 + c) : 0;
        }
        return v;
    }
    ErrorOr<unsigned> xl(std::vector<uint32_t> cells, unsigned cpu) {
        return intc.xlate(cells, cpu);
    }
};

// ---- reset ----

TEST_F(LocalIntcTest, ResetValues) {
    EXPECT_EQ(rd(Reg::Control), 0u);
    EXPECT_EQ(rd(Reg::Prescaler), 0x8000'0000u); // 1:1, see bcm2836_local_intc.cpp
    EXPECT_EQ(rd(Reg::GpuRouting), 0u);
    EXPECT_EQ(rd(Reg::PmuRoutingSet), 0u);
    EXPECT_EQ(rd(Reg::PmuRoutingClear), 0u);
    EXPECT_EQ(rd(Reg::CoreTimerLs), 0u);
    EXPECT_EQ(rd(Reg::CoreTimerMs), 0u);
    EXPECT_EQ(rd(Reg::LocalIntRouting), 0u);
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0u);
    for (unsigned c = 0; c < 4; ++c) {
        EXPECT_EQ(rd(kTimerCtl + 4 * c), 0u);
        EXPECT_EQ(rd(kMboxCtl + 4 * c), 0u);
        EXPECT_EQ(rd(kIrqSrc + 4 * c), 0u);
        EXPECT_EQ(rd(kFiqSrc + 4 * c), 0u);
        for (unsigned m = 0; m < 4; ++m)
            EXPECT_EQ(rd(mbox_clr(c, m)), 0u);
    }
    EXPECT_EQ(lines(), 0u);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever); // local timer idle
    EXPECT_EQ(intc.mmio_size(), 0x100u);
    EXPECT_EQ(intc.cores(), 4u);
    EXPECT_TRUE(intc.irq_outputs().empty());
}

TEST_F(LocalIntcTest, ResetRestoresEveryRegisterAndStopsTheLocalTimer) {
    wr(Reg::Control, 0x300);
    wr(Reg::Prescaler, 0x1234);
    wr(Reg::GpuRouting, 0xf);
    wr(Reg::PmuRoutingSet, 0xff);
    wr(Reg::LocalIntRouting, 0x7);
    wr(Reg::LocalTimerControl, 0x3000'0010);
    wr(kTimerCtl + 8, 0xff);
    wr(kMboxCtl + 12, 0xff);
    wr(mbox_set(3, 3), 0xdead'beef);
    line(kGpuIrq, true);
    ASSERT_NE(lines(), 0u);
    run_to(1000);
    intc.reset();
    EXPECT_EQ(rd(Reg::Control), 0u);
    EXPECT_EQ(rd(Reg::Prescaler), 0x8000'0000u);
    EXPECT_EQ(rd(Reg::GpuRouting), 0u);
    EXPECT_EQ(rd(Reg::PmuRoutingSet), 0u);
    EXPECT_EQ(rd(Reg::LocalIntRouting), 0u);
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0u);
    EXPECT_EQ(rd(kTimerCtl + 8), 0u);
    EXPECT_EQ(rd(kMboxCtl + 12), 0u);
    EXPECT_EQ(rd(mbox_clr(3, 3)), 0u);
    EXPECT_EQ(rd(Reg::CoreTimerLs), 0u); // the core timer restarts from 0 at reset
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
    // The GPU line is a wire: still high, and routed to core 0 by the reset routing.
    EXPECT_EQ(lines(), 0x1u);
}

// ---- register masks ----

TEST_F(LocalIntcTest, ControlKeepsOnlyClockSourceAndIncrementBits) {
    wr(Reg::Control, 0xffff'ffff);
    EXPECT_EQ(rd(Reg::Control), 0x300u);
}

TEST_F(LocalIntcTest, PrescalerKeepsAll32Bits) {
    wr(Reg::Prescaler, 0x1234'5678);
    EXPECT_EQ(rd(Reg::Prescaler), 0x1234'5678u);
}

TEST_F(LocalIntcTest, RoutingAndControlRegistersKeepTheirDefinedBits) {
    wr(Reg::GpuRouting, 0xffff'ffff);
    EXPECT_EQ(rd(Reg::GpuRouting), 0xfu);
    wr(Reg::LocalIntRouting, 0xffff'ffff);
    EXPECT_EQ(rd(Reg::LocalIntRouting), 0x7u);
    for (unsigned c = 0; c < 4; ++c) {
        wr(kTimerCtl + 4 * c, 0xffff'ff00 | (0x10 + c));
        wr(kMboxCtl + 4 * c, 0xffff'ff00 | (0x20 + c));
    }
    for (unsigned c = 0; c < 4; ++c) {
        EXPECT_EQ(rd(kTimerCtl + 4 * c), 0x10u + c);
        EXPECT_EQ(rd(kMboxCtl + 4 * c), 0x20u + c);
    }
}

// ---- GPU routing ----

TEST_F(LocalIntcTest, GpuIrqGoesToTheCoreInRoutingBits1To0) {
    line(kGpuIrq, true);
    for (unsigned c = 0; c < 4; ++c) {
        wr(Reg::GpuRouting, c);
        EXPECT_EQ(lines(), 1u << c) << "core " << c;
        for (unsigned o = 0; o < 4; ++o) {
            EXPECT_EQ(rd(kIrqSrc + 4 * o), o == c ? 0x100u : 0u);
            EXPECT_EQ(rd(kFiqSrc + 4 * o), 0u);
        }
    }
    line(kGpuIrq, false);
    EXPECT_EQ(lines(), 0u);
}

TEST_F(LocalIntcTest, GpuFiqGoesToTheCoreInRoutingBits3To2) {
    line(kGpuFiq, true);
    for (unsigned c = 0; c < 4; ++c) {
        wr(Reg::GpuRouting, c << 2);
        EXPECT_EQ(lines(), 0x10u << c) << "core " << c;
        for (unsigned o = 0; o < 4; ++o) {
            EXPECT_EQ(rd(kFiqSrc + 4 * o), o == c ? 0x100u : 0u);
            EXPECT_EQ(rd(kIrqSrc + 4 * o), 0u);
        }
    }
}

TEST_F(LocalIntcTest, GpuIrqAndFiqAreRoutedIndependently) {
    wr(Reg::GpuRouting, (2 << 2) | 1);
    line(kGpuIrq, true);
    line(kGpuFiq, true);
    EXPECT_EQ(lines(), 0x40u | 0x02u); // FIQ core 2, IRQ core 1
}

// ---- core timer interrupts ----

TEST_F(LocalIntcTest, TimerIrqEnableRoutesEachTimerToItsOwnCoreOnly) {
    for (unsigned c = 0; c < 4; ++c) {
        for (unsigned t = 0; t < 4; ++t) {
            wr(kTimerCtl + 4 * c, 1u << t);
            line(in(c, t), true);
            EXPECT_EQ(lines(), 1u << c) << "core " << c << " timer " << t;
            EXPECT_EQ(rd(kIrqSrc + 4 * c), 1u << t);
            EXPECT_EQ(rd(kFiqSrc + 4 * c), 0u);
            line(in(c, t), false);
            EXPECT_EQ(lines(), 0u);
            wr(kTimerCtl + 4 * c, 0);
        }
    }
}

TEST_F(LocalIntcTest, TimerWithoutEnableRaisesNothingAndShowsNoSource) {
    wr(kTimerCtl + 4, 0xee); // every IRQ and FIQ enable of core 1 but CNTPS's
    line(in(1, 0), true);
    EXPECT_EQ(lines(), 0u);
    EXPECT_EQ(rd(kIrqSrc + 4), 0u);
    EXPECT_EQ(rd(kFiqSrc + 4), 0u);
}

TEST_F(LocalIntcTest, TimerFiqEnableWinsOverIrqEnable) {
    wr(kTimerCtl + 8, 0x88); // core 2 CNTV: IRQ and FIQ enabled
    line(in(2, 3), true);
    EXPECT_EQ(lines(), 0x40u); // FIQ of core 2 only
    EXPECT_EQ(rd(kFiqSrc + 8), 0x8u);
    EXPECT_EQ(rd(kIrqSrc + 8), 0u);
    wr(kTimerCtl + 8, 0x08); // FIQ enable off: back to IRQ
    EXPECT_EQ(lines(), 0x04u);
    EXPECT_EQ(rd(kIrqSrc + 8), 0x8u);
}

TEST_F(LocalIntcTest, TimerOfOneCoreIgnoresAnotherCoresControl) {
    wr(kTimerCtl + 0, 0xff); // core 0 enables everything
    line(in(1, 1), true);    // core 1's CNTPNS
    EXPECT_EQ(lines(), 0u);
}

// ---- mailboxes ----

TEST_F(LocalIntcTest, MailboxSetOrsBitsAndClearReadsAndClearsThem) {
    wr(mbox_set(1, 2), 0x0000'0001);
    wr(mbox_set(1, 2), 0x8000'0004);
    EXPECT_EQ(rd(mbox_clr(1, 2)), 0x8000'0005u);
    wr(mbox_clr(1, 2), 0x0000'0001);
    EXPECT_EQ(rd(mbox_clr(1, 2)), 0x8000'0004u);
    wr(mbox_clr(1, 2), 0);
    EXPECT_EQ(rd(mbox_clr(1, 2)), 0x8000'0004u);
    wr(mbox_clr(1, 2), 0xffff'ffff);
    EXPECT_EQ(rd(mbox_clr(1, 2)), 0u);
}

TEST_F(LocalIntcTest, EachMailboxHasItsOwnAddress) {
    for (unsigned c = 0; c < 4; ++c)
        for (unsigned m = 0; m < 4; ++m)
            wr(mbox_set(c, m), 0x100 * c + m + 1);
    for (unsigned c = 0; c < 4; ++c)
        for (unsigned m = 0; m < 4; ++m)
            EXPECT_EQ(rd(mbox_clr(c, m)), 0x100 * c + m + 1) << "core " << c << " mbox " << m;
}

TEST_F(LocalIntcTest, MailboxSetRegistersAreWriteOnly) {
    wr(mbox_set(0, 0), 0x5);
    EXPECT_EQ(rd(mbox_set(0, 0)), 0u);
    EXPECT_EQ(rd(mbox_clr(0, 0)), 0x5u);
}

// The machine watches the secondaries' boot mailbox (3) through this observer: it is
// told of every write to a set register, after the mailbox holds the new bits, and of
// no other write.
TEST_F(LocalIntcTest, MailboxObserverSeesSetWritesOnly) {
    std::vector<std::pair<unsigned, unsigned>> seen;
    std::vector<uint32_t> values;
    intc.set_mailbox_observer([&](unsigned core, unsigned m) {
        seen.emplace_back(core, m);
        values.push_back(intc.mailbox(core, m));
    });
    wr(mbox_set(2, 3), 0x8000);
    wr(mbox_clr(2, 3), 0x8000);
    wr(mbox_set(0, 1), 0x1);
    wr(kMboxCtl, 0x1);
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], std::make_pair(2u, 3u));
    EXPECT_EQ(values[0], 0x8000u);
    EXPECT_EQ(seen[1], std::make_pair(0u, 1u));
    EXPECT_EQ(intc.mailbox(2, 3), 0u);
}

TEST_F(LocalIntcTest, NonZeroMailboxRaisesIrqOnItsCoreWhenEnabled) {
    wr(mbox_set(2, 0), 1u << 3); // an IPI to core 2, not yet enabled
    EXPECT_EQ(lines(), 0u);
    wr(kMboxCtl + 8, 0x1); // Linux's bcm2836_cpu_starting(): mailbox 0 IRQ
    EXPECT_EQ(lines(), 0x4u);
    EXPECT_EQ(rd(kIrqSrc + 8), 0x10u);
    wr(mbox_clr(2, 0), 1u << 3);
    EXPECT_EQ(lines(), 0u);
    EXPECT_EQ(rd(kIrqSrc + 8), 0u);
}

TEST_F(LocalIntcTest, MailboxFiqEnableWinsOverIrqEnable) {
    wr(kMboxCtl + 4, 0x88); // core 1 mailbox 3: IRQ and FIQ
    wr(mbox_set(1, 3), 0x1);
    EXPECT_EQ(lines(), 0x20u);
    EXPECT_EQ(rd(kFiqSrc + 4), 0x80u);
    EXPECT_EQ(rd(kIrqSrc + 4), 0u);
}

// ---- PMU ----

TEST_F(LocalIntcTest, PmuRoutingSetAndClearActOnWrittenOnesAndReadTheMask) {
    wr(Reg::PmuRoutingSet, 0x3);
    wr(Reg::PmuRoutingSet, 0xffff'ff10); // only bits 7:0 exist
    EXPECT_EQ(rd(Reg::PmuRoutingSet), 0x13u);
    EXPECT_EQ(rd(Reg::PmuRoutingClear), 0x13u);
    wr(Reg::PmuRoutingClear, 0x1);
    EXPECT_EQ(rd(Reg::PmuRoutingSet), 0x12u);
    wr(Reg::PmuRoutingSet, 0);
    wr(Reg::PmuRoutingClear, 0);
    EXPECT_EQ(rd(Reg::PmuRoutingSet), 0x12u);
}

TEST_F(LocalIntcTest, PmuInterruptReachesItsOwnCorePerRouting) {
    line(in(1, 9), true);
    EXPECT_EQ(lines(), 0u);
    wr(Reg::PmuRoutingSet, 1u << 0); // core 0's PMU: not the one that is high
    EXPECT_EQ(lines(), 0u);
    wr(Reg::PmuRoutingSet, 1u << 1); // Linux's unmask on cpu 1
    EXPECT_EQ(lines(), 0x2u);
    EXPECT_EQ(rd(kIrqSrc + 4), 0x200u);
    wr(Reg::PmuRoutingSet, 1u << 5); // FIQ for core 1 wins
    EXPECT_EQ(lines(), 0x20u);
    EXPECT_EQ(rd(kFiqSrc + 4), 0x200u);
    EXPECT_EQ(rd(kIrqSrc + 4), 0u);
    wr(Reg::PmuRoutingClear, 0x22);
    EXPECT_EQ(lines(), 0u);
}

// ---- source registers ----

TEST_F(LocalIntcTest, IrqAndFiqSourceRegistersCombineEverySourceOfTheCore) {
    wr(kTimerCtl, 0x21);           // CNTPS IRQ, CNTPNS FIQ
    wr(kMboxCtl, 0x42);            // mailbox 1 IRQ, mailbox 2 FIQ
    wr(Reg::PmuRoutingSet, 0x1);   // PMU IRQ
    wr(Reg::LocalIntRouting, 0x0); // local timer IRQ to core 0
    wr(Reg::LocalTimerControl, 0x3000'0001);
    line(in(0, 0), true);
    line(in(0, 1), true);
    wr(mbox_set(0, 1), 1);
    wr(mbox_set(0, 2), 1);
    line(in(0, 9), true);
    line(kGpuIrq, true);
    line(kGpuFiq, true);
    run_to(2); // one local timer tick
    EXPECT_EQ(rd(kIrqSrc), 0x001u | 0x020u | 0x100u | 0x200u | 0x800u);
    EXPECT_EQ(rd(kFiqSrc), 0x002u | 0x040u | 0x100u);
    EXPECT_EQ(lines(), 0x11u);
}

TEST_F(LocalIntcTest, SourceRegistersIgnoreWrites) {
    wr(kTimerCtl, 0x1);
    line(in(0, 0), true);
    wr(kIrqSrc, 0);
    wr(kFiqSrc, 0xffff'ffff);
    EXPECT_EQ(rd(kIrqSrc), 0x1u);
    EXPECT_EQ(rd(kFiqSrc), 0u);
    EXPECT_EQ(lines(), 0x1u);
}

// ---- local timer ----

TEST_F(LocalIntcTest, LocalTimerControlKeepsReloadAndEnablesAndFlagIsReadOnly) {
    wr(Reg::LocalTimerControl, 0xffff'ffff);
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0x3fff'ffffu); // no flag, bit 30 unused
    wr(Reg::LocalTimerControl, 0);
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0u);
}

TEST_F(LocalIntcTest, LocalTimerSetsItsFlagAfterReloadTicksAt38_4MHz) {
    wr(Reg::LocalTimerControl, 0x1000'0000 | 1000); // enabled, interrupt disabled
    run_to(1999);
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0x1000'0000u | 1000);
    run_to(2000); // 1000 ticks of 2 cycles
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0x9000'0000u | 1000);
    EXPECT_EQ(lines(), 0u); // interrupt enable clear: flag only
    EXPECT_EQ(rd(kIrqSrc), 0u);
}

TEST_F(LocalIntcTest, LocalTimerCountsWholeTicksFromTheTickItStartsIn) {
    run_to(101); // mid tick 50
    wr(Reg::LocalTimerControl, 0x1000'0000 | 1000);
    run_to(2099);
    EXPECT_EQ(rd(Reg::LocalTimerControl) >> 31, 0u);
    run_to(2100); // tick 1050
    EXPECT_EQ(rd(Reg::LocalTimerControl) >> 31, 1u);
}

TEST_F(LocalIntcTest, LocalTimerReloadsAndKeepsItsPeriod) {
    wr(Reg::LocalTimerControl, 0x3000'0000 | 500); // enabled, interrupt enabled
    run_to(1000);
    EXPECT_EQ(lines(), 0x1u);
    wr(Reg::LocalTimerWriteFlags, 0x8000'0000); // clear the flag at cycle 1000
    EXPECT_EQ(lines(), 0u);
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0x3000'0000u | 500);
    run_to(1999);
    EXPECT_EQ(lines(), 0u);
    run_to(2000); // reloaded at 1000: next zero at 2000
    EXPECT_EQ(lines(), 0x1u);
    EXPECT_EQ(rd(kIrqSrc), 0x800u);
    wr(Reg::LocalTimerWriteFlags, 0x8000'0000);
    run_to(3000);
    EXPECT_EQ(lines(), 0x1u);
}

TEST_F(LocalIntcTest, LocalTimerFlagStaysSetUntilCleared) {
    wr(Reg::LocalTimerControl, 0x3000'0000 | 10);
    run_to(20);
    run_to(200); // nine more periods
    EXPECT_EQ(rd(Reg::LocalTimerControl) >> 31, 1u);
    EXPECT_EQ(lines(), 0x1u);
    wr(Reg::LocalTimerWriteFlags, 0x8000'0000);
    EXPECT_EQ(rd(Reg::LocalTimerControl) >> 31, 0u);
}

TEST_F(LocalIntcTest, LocalTimerInterruptGoesWhereRoutingSays) {
    wr(Reg::LocalTimerControl, 0x3000'0000 | 1);
    run_to(2);
    for (unsigned r = 0; r < 8; ++r) {
        wr(Reg::LocalIntRouting, r);
        unsigned core = r & 3;
        bool as_fiq = r & 4;
        EXPECT_EQ(lines(), as_fiq ? 0x10u << core : 1u << core) << "routing " << r;
        EXPECT_EQ(rd((as_fiq ? kFiqSrc : kIrqSrc) + 4 * core), 0x800u);
        EXPECT_EQ(rd((as_fiq ? kIrqSrc : kFiqSrc) + 4 * core), 0u);
    }
}

TEST_F(LocalIntcTest, LocalTimerInterruptEnableGatesTheLineNotTheFlag) {
    wr(Reg::LocalTimerControl, 0x1000'0000 | 100);
    run_to(200);
    EXPECT_EQ(lines(), 0u);
    wr(Reg::LocalTimerControl, 0x3000'0000 | 100); // flag kept; the line follows
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0xb000'0000u | 100);
    EXPECT_EQ(lines(), 0x1u);
}

TEST_F(LocalIntcTest, LocalTimerReloadFlagRestartsTheCount) {
    wr(Reg::LocalTimerControl, 0x1000'0000 | 1000);
    run_to(1000);
    wr(Reg::LocalTimerWriteFlags, 0x4000'0000);
    EXPECT_EQ(rd(Reg::LocalTimerControl) >> 31, 0u); // reload does not set the flag
    run_to(2999);
    EXPECT_EQ(rd(Reg::LocalTimerControl) >> 31, 0u);
    run_to(3000);
    EXPECT_EQ(rd(Reg::LocalTimerControl) >> 31, 1u);
}

TEST_F(LocalIntcTest, LocalTimerControlWriteWithEnableRestartsTheCount) {
    wr(Reg::LocalTimerControl, 0x1000'0000 | 1000);
    run_to(1500);
    wr(Reg::LocalTimerControl, 0x1000'0000 | 100); // as QEMU: restart from the new reload
    run_to(1699);
    EXPECT_EQ(rd(Reg::LocalTimerControl) >> 31, 0u);
    run_to(1700);
    EXPECT_EQ(rd(Reg::LocalTimerControl) >> 31, 1u);
}

TEST_F(LocalIntcTest, DisabledLocalTimerNeverFiresAndReloadFlagDoesNotStartIt) {
    wr(Reg::LocalTimerControl, 0x3000'0000 | 1000);
    run_to(500);
    wr(Reg::LocalTimerControl, 0x2000'0000 | 1000); // disable
    wr(Reg::LocalTimerWriteFlags, 0x4000'0000);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
    run_to(100'000);
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0x2000'0000u | 1000);
    EXPECT_EQ(lines(), 0u);
}

TEST_F(LocalIntcTest, LocalTimerWithReloadZeroDoesNotCount) {
    wr(Reg::LocalTimerControl, 0x3000'0000);
    EXPECT_EQ(clock.next_deadline(), VirtualClock::kNever);
    run_to(1'000'000);
    EXPECT_EQ(rd(Reg::LocalTimerControl), 0x3000'0000u);
}

TEST_F(LocalIntcTest, LocalTimerWriteFlagsRegisterReadsZero) {
    wr(Reg::LocalTimerControl, 0x3000'0000 | 1);
    run_to(2);
    EXPECT_EQ(rd(Reg::LocalTimerWriteFlags), 0u);
}

// ---- core timer ----

TEST_F(LocalIntcTest, CoreTimerCountsCrystalTicksAtPrescaler2To31) {
    run_to(4000);
    EXPECT_EQ(rd(Reg::CoreTimerLs), 1000u); // 4000 cycles / 4 cycles per 19.2 MHz tick
    EXPECT_EQ(rd(Reg::CoreTimerMs), 0u);
    EXPECT_EQ(intc.core_timer(), 1000u);
    run_to(4003);
    EXPECT_EQ(rd(Reg::CoreTimerLs), 1000u);
    run_to(4004);
    EXPECT_EQ(rd(Reg::CoreTimerLs), 1001u);
}

TEST_F(LocalIntcTest, CoreTimerLsReadLatchesTheMsWord) {
    run_to(400);
    wr(Reg::CoreTimerLs, 0xffff'fff0);
    wr(Reg::CoreTimerMs, 0x0000'0001); // the count is now 0x1'ffff'fff0
    run_to(400 + 4 * 0x0f);
    EXPECT_EQ(rd(Reg::CoreTimerLs), 0xffff'ffffu); // latches MS = 1
    run_to(400 + 4 * 0x20);                        // the count wraps to 0x2'0000'0010
    EXPECT_EQ(rd(Reg::CoreTimerMs), 1u);           // the latched word, not 2
    EXPECT_EQ(rd(Reg::CoreTimerMs), 1u);           // MS reads do not re-latch
    EXPECT_EQ(rd(Reg::CoreTimerLs), 0x10u);
    EXPECT_EQ(rd(Reg::CoreTimerMs), 2u);
    EXPECT_EQ(intc.core_timer(), 0x2'0000'0010u);
}

TEST_F(LocalIntcTest, CoreTimerLsWriteIsHeldUntilTheMsWrite) {
    run_to(4000);
    wr(Reg::CoreTimerLs, 0x10);
    EXPECT_EQ(intc.core_timer(), 1000u); // not yet
    run_to(8000);
    wr(Reg::CoreTimerMs, 0x7);
    EXPECT_EQ(intc.core_timer(), 0x7'0000'0010u);
    run_to(8040);
    EXPECT_EQ(intc.core_timer(), 0x7'0000'001au);
}

TEST_F(LocalIntcTest, CoreTimerPrescalerScalesTheRateAndKeepsTheCount) {
    run_to(4000);                    // 1000 at 1:1
    wr(Reg::Prescaler, 0x4000'0000); // half rate: 8 cycles per tick
    EXPECT_EQ(intc.core_timer(), 1000u);
    run_to(12000);
    EXPECT_EQ(intc.core_timer(), 2000u);
    wr(Reg::Prescaler, 0); // stopped
    run_to(100'000);
    EXPECT_EQ(intc.core_timer(), 2000u);
}

TEST_F(LocalIntcTest, CoreTimerIncrementsByTwoWhenControlBit9IsSet) {
    wr(Reg::Control, 0x200);
    run_to(4000);
    EXPECT_EQ(intc.core_timer(), 2000u);
}

TEST_F(LocalIntcTest, CoreTimerFromApbRunsAtHalfTheCpuClock) {
    wr(Reg::Control, 0x100);
    run_to(4000);
    EXPECT_EQ(intc.core_timer(), 2000u);
    wr(Reg::Control, 0x000); // back to the crystal at 2000
    run_to(8000);
    EXPECT_EQ(intc.core_timer(), 3000u);
}

// ---- lines change only through update() ----

TEST_F(LocalIntcTest, OutputLinesChangeOnlyWhenTheRecomputedLevelChanges) {
    line(in(0, 1), true); // not enabled
    line(in(3, 9), true); // not routed
    EXPECT_TRUE(sink.calls.empty());
    for (uint32_t off = 0; off < 0x100; off += 4)
        rd(off); // reads (the LS latch included) never touch the lines
    EXPECT_TRUE(sink.calls.empty());
    wr(kTimerCtl, 0x2);
    ASSERT_EQ(sink.calls.size(), 1u);
    EXPECT_EQ(sink.calls[0], std::make_pair(0u, true));
    wr(mbox_set(0, 0), 1); // another source on a line that is already high
    wr(kMboxCtl, 0x1);
    EXPECT_EQ(sink.calls.size(), 1u);
    wr(kTimerCtl, 0x20); // CNTPNS moves to FIQ; the mailbox keeps IRQ up
    ASSERT_EQ(sink.calls.size(), 2u);
    EXPECT_EQ(sink.calls[1], std::make_pair(4u, true));
    wr(mbox_clr(0, 0), 1);
    ASSERT_EQ(sink.calls.size(), 3u);
    EXPECT_EQ(sink.calls[2], std::make_pair(0u, false));
}

TEST_F(LocalIntcTest, LocalTimerExpiryRaisesTheLineFromTheTimerEvent) {
    wr(Reg::LocalIntRouting, 0x6); // core 2 FIQ
    wr(Reg::LocalTimerControl, 0x3000'0000 | 50);
    EXPECT_TRUE(sink.calls.empty());
    run_to(99);
    EXPECT_TRUE(sink.calls.empty());
    run_to(100);
    ASSERT_EQ(sink.calls.size(), 1u);
    EXPECT_EQ(sink.calls[0], std::make_pair(6u, true));
}

// ---- DT ----

TEST_F(LocalIntcTest, XlateMapsPerCpuTimersAndPmuAndTheGpuInput) {
    EXPECT_EQ(intc.interrupt_cells(), 2u);
    EXPECT_EQ(xl({0, 4}, 0).value(), 0u);
    EXPECT_EQ(xl({1, 4}, 0).value(), 1u);
    EXPECT_EQ(xl({3, 4}, 0).value(), 3u);
    EXPECT_EQ(xl({0, 4}, 2).value(), 32u);
    EXPECT_EQ(xl({2, 4}, 3).value(), 50u);
    EXPECT_EQ(xl({9, 4}, 0).value(), 9u);
    EXPECT_EQ(xl({9, 4}, 1).value(), 25u);
    EXPECT_EQ(xl({8, 4}, 0).value(), 64u);
    EXPECT_EQ(xl({8, 4}, 3).value(), 64u);
    EXPECT_EQ(xl({1, 0}, 1).value(), 17u); // the flags cell is not checked
    for (uint32_t k : {0u, 1u, 2u, 3u, 9u})
        EXPECT_TRUE(intc.is_percpu(std::vector<uint32_t>{k, 4})) << k;
    EXPECT_FALSE(intc.is_percpu(std::vector<uint32_t>{8, 4}));
}

TEST_F(LocalIntcTest, XlateRejectsInternalAndUnknownHwirqs) {
    for (uint32_t k : {4u, 5u, 6u, 7u, 10u, 11u, 12u, 255u}) {
        auto r = xl({k, 4}, 0);
        ASSERT_TRUE(r.is_error()) << k;
        EXPECT_NE(r.error().message.find("<" + std::to_string(k) + " 4>"), std::string::npos)
            << r.error().message;
    }
    EXPECT_TRUE(xl({0}, 0).is_error());
    EXPECT_TRUE(xl({0, 4, 0}, 0).is_error());
    auto r = xl({0, 4}, 4);
    ASSERT_TRUE(r.is_error());
    EXPECT_NE(r.error().message.find("cpu 4"), std::string::npos) << r.error().message;
}

TEST_F(LocalIntcTest, XlatedInputsDriveTheNamedCoreAndTimer) {
    wr(kTimerCtl + 12, 0x8); // core 3 CNTV IRQ
    line(xl({3, 4}, 3).value(), true);
    EXPECT_EQ(lines(), 0x8u);
    EXPECT_EQ(rd(kIrqSrc + 12), 0x8u);
}

// ---- fewer cores ----

TEST(LocalIntcCoresTest, TwoCoreControllerWiresTwoCoresButKeepsFourRegisterBanks) {
    VirtualClock clock{kHz};
    Bcm2836LocalIntc intc{"local_intc", clock, 2};
    EXPECT_EQ(intc.cores(), 2u);
    EXPECT_EQ(intc.xlate(std::vector<uint32_t>{1, 4}, 1).value(), 17u);
    EXPECT_TRUE(intc.xlate(std::vector<uint32_t>{1, 4}, 2).is_error());
    intc.write(0x0c, 3, 4); // GPU IRQ to core 3, which has no line
    intc.irq_sink().set_irq_input(64, true);
    EXPECT_FALSE(intc.core_irq(0).level());
    EXPECT_FALSE(intc.core_irq(1).level());
    EXPECT_EQ(intc.read(0x6c, 4), 0x100u);
    intc.write(0x0c, 1, 4);
    EXPECT_TRUE(intc.core_irq(1).level());
}

// ---- bad accesses ----

TEST_F(LocalIntcTest, UnknownAndUnmodelledOffsetsReadZeroAndIgnoreWrites) {
    for (uint32_t off : {0x04u, 0x18u, 0x28u, 0x2cu, 0x30u, 0x3cu}) {
        wr(off, 0xffff'ffff);
        EXPECT_EQ(rd(off), 0u) << "offset 0x" << std::hex << off;
    }
    EXPECT_EQ(rd(0x100), 0u);
    EXPECT_EQ(rd(0x1000), 0u);
    wr(0x100, 0xffff'ffff);
    EXPECT_EQ(rd(Reg::Control), 0u);
    EXPECT_EQ(rd(Reg::Prescaler), 0x8000'0000u);
    EXPECT_EQ(lines(), 0u);
}

TEST_F(LocalIntcTest, SubWordAndMisalignedAccessesReadZeroAndAreIgnored) {
    wr(kTimerCtl, 0x0f);
    wr(mbox_set(0, 0), 0xff);
    EXPECT_EQ(intc.read(kTimerCtl, 1), 0u);
    EXPECT_EQ(intc.read(kTimerCtl, 2), 0u);
    EXPECT_EQ(intc.read(mbox_clr(0, 0) + 1, 4), 0u);
    intc.write(kTimerCtl, 0xf0, 1);
    intc.write(mbox_clr(0, 0), 0xff, 1);
    intc.write(mbox_clr(0, 0), 0xffff, 2);
    intc.write(mbox_clr(0, 0) + 2, 0xffff'ffff, 4);
    EXPECT_EQ(rd(kTimerCtl), 0x0fu);
    EXPECT_EQ(rd(mbox_clr(0, 0)), 0xffu);
}

// ---- the two controllers together ----

TEST(InterruptChainTest, ArmctrlIrqAndFiqReachTheRoutedCores) {
    VirtualClock clock{kHz};
    Bcm2835Armctrl armctrl{"intc"};
    Bcm2836LocalIntc local{"local_intc", clock};
    armctrl.irq_out().connect(&local.irq_sink(), Bcm2836LocalIntc::kInputGpuIrq);
    armctrl.fiq_out().connect(&local.irq_sink(), Bcm2836LocalIntc::kInputGpuFiq);
    local.write(0x0c, (3 << 2) | 1, 4); // IRQ to core 1, FIQ to core 3
    armctrl.write(0x14, 1u << 25, 4);   // enable GPU IRQ 57
    armctrl.irq_sink().set_irq_input(57, true);
    EXPECT_TRUE(local.core_irq(1).level());
    EXPECT_FALSE(local.core_irq(0).level());
    EXPECT_EQ(local.read(0x64, 4), 0x100u);
    armctrl.write(0x0c, 0x80 | 64, 4); // FIQ from the ARM timer
    armctrl.irq_sink().set_irq_input(64, true);
    EXPECT_TRUE(local.core_fiq(3).level());
    EXPECT_EQ(local.read(0x7c, 4), 0x100u);
    armctrl.irq_sink().set_irq_input(57, false);
    EXPECT_FALSE(local.core_irq(1).level());
}

} // namespace
