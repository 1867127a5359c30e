// BCM2835 ARMCTRL register-level tests: reset values, write-1-to-set/clear enables,
// pending masked by enables, the basic pending summary and shortcut bits, FIQ select,
// the output lines and when they change, DT specifier translation, unknown offsets and
// sub-word accesses. Expected values are written as numbers taken from BCM2835 ARM
// Peripherals chapter 7, not from the model's constants, so a wrong constant fails here.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "devices/bcm2835_armctrl.hpp"

using namespace piemu;
using Reg = Bcm2835Armctrl::Reg;

namespace {

struct RecordingSink : IrqSink {
    std::vector<std::pair<unsigned, bool>> calls;
    void set_irq_input(unsigned input, bool level) override { calls.emplace_back(input, level); }
};

constexpr unsigned kIrqIn = 8; // where the test sink receives irq_out
constexpr unsigned kFiqIn = 9; // and fiq_out

class ArmctrlTest : public ::testing::Test {
protected:
    Bcm2835Armctrl ic{"intc"};
    RecordingSink sink;

    void SetUp() override {
        ic.irq_out().connect(&sink, kIrqIn);
        ic.fiq_out().connect(&sink, kFiqIn);
    }
    uint32_t rd(Reg r) { return ic.read(static_cast<uint32_t>(r), 4); }
    void wr(Reg r, uint32_t v) { ic.write(static_cast<uint32_t>(r), v, 4); }
    void gpu(unsigned n, bool level) { ic.irq_sink().set_irq_input(n, level); }
    void arm(unsigned n, bool level) { ic.irq_sink().set_irq_input(64 + n, level); }
    bool irq() { return ic.irq_out().level(); }
    bool fiq() { return ic.fiq_out().level(); }
    ErrorOr<unsigned> xl(std::vector<uint32_t> cells, unsigned cpu = 0) {
        return ic.xlate(cells, cpu);
    }
};

// ---- reset ----

TEST_F(ArmctrlTest, EveryRegisterReadsZeroAfterReset) {
    for (uint32_t off = 0x00; off <= 0x24; off += 4)
        EXPECT_EQ(ic.read(off, 4), 0u) << "offset 0x" << std::hex << off;
    EXPECT_FALSE(irq());
    EXPECT_FALSE(fiq());
    EXPECT_EQ(ic.mmio_size(), 0x200u);
}

TEST_F(ArmctrlTest, ResetClearsEnablesAndFiqControlButKeepsInputLevels) {
    gpu(57, true);
    arm(0, true);
    wr(Reg::Enable2, 1u << 25);
    wr(Reg::EnableBasic, 0x01);
    wr(Reg::FiqControl, 0x80 | 57);
    ASSERT_TRUE(irq());
    ASSERT_TRUE(fiq());
    ic.reset();
    EXPECT_EQ(rd(Reg::Enable2), 0u);
    EXPECT_EQ(rd(Reg::EnableBasic), 0u);
    EXPECT_EQ(rd(Reg::FiqControl), 0u);
    EXPECT_EQ(rd(Reg::BasicPending), 0u);
    EXPECT_FALSE(irq());
    EXPECT_FALSE(fiq());
    wr(Reg::Enable2, 1u << 25); // the line is still high at the input
    EXPECT_TRUE(irq());
    EXPECT_EQ(rd(Reg::Pending2), 1u << 25);
}

// ---- enable / disable ----

TEST_F(ArmctrlTest, EnableRegistersSetOnlyTheBitsWrittenAsOne) {
    wr(Reg::Enable1, 0x0000'0001);
    wr(Reg::Enable1, 0x8000'0100);
    EXPECT_EQ(rd(Reg::Enable1), 0x8000'0101u);
    wr(Reg::Enable2, 0x0000'0002);
    wr(Reg::Enable2, 0x4000'0000);
    EXPECT_EQ(rd(Reg::Enable2), 0x4000'0002u);
    wr(Reg::EnableBasic, 0x01);
    wr(Reg::EnableBasic, 0xffff'ff80); // only bits 7:0 exist
    EXPECT_EQ(rd(Reg::EnableBasic), 0x81u);
    wr(Reg::Enable1, 0); // writing 0 changes nothing
    EXPECT_EQ(rd(Reg::Enable1), 0x8000'0101u);
}

TEST_F(ArmctrlTest, DisableRegistersClearOnlyTheBitsWrittenAsOne) {
    wr(Reg::Enable1, 0xffff'ffff);
    wr(Reg::Enable2, 0xffff'ffff);
    wr(Reg::EnableBasic, 0xff);
    wr(Reg::Disable1, 0x0000'00f0);
    wr(Reg::Disable2, 0x8000'0001);
    wr(Reg::DisableBasic, 0x0000'0103); // bit 8 does not exist
    EXPECT_EQ(rd(Reg::Enable1), 0xffff'ff0fu);
    EXPECT_EQ(rd(Reg::Enable2), 0x7fff'fffeu);
    EXPECT_EQ(rd(Reg::EnableBasic), 0xfcu);
    wr(Reg::Disable1, 0);
    EXPECT_EQ(rd(Reg::Enable1), 0xffff'ff0fu);
}

TEST_F(ArmctrlTest, DisableRegistersReadTheEnableMask) {
    wr(Reg::Enable1, 0x0000'1234);
    wr(Reg::Enable2, 0x5600'0000);
    wr(Reg::EnableBasic, 0x42);
    EXPECT_EQ(rd(Reg::Disable1), 0x0000'1234u);
    EXPECT_EQ(rd(Reg::Disable2), 0x5600'0000u);
    EXPECT_EQ(rd(Reg::DisableBasic), 0x42u);
}

// ---- pending ----

TEST_F(ArmctrlTest, PendingRegistersShowOnlyEnabledSources) {
    gpu(3, true);
    gpu(40, true);
    arm(1, true);
    EXPECT_EQ(rd(Reg::Pending1), 0u);
    EXPECT_EQ(rd(Reg::Pending2), 0u);
    EXPECT_EQ(rd(Reg::BasicPending), 0u);
    wr(Reg::Enable1, 1u << 3);
    EXPECT_EQ(rd(Reg::Pending1), 0x8u);
    EXPECT_EQ(rd(Reg::Pending2), 0u);
    wr(Reg::Enable2, 1u << 8); // GPU IRQ 40
    EXPECT_EQ(rd(Reg::Pending2), 0x100u);
    wr(Reg::EnableBasic, 1u << 1);
    EXPECT_EQ(rd(Reg::BasicPending), 0x302u); // ARM mailbox, bank 1, bank 2
    wr(Reg::Disable1, 1u << 3);
    EXPECT_EQ(rd(Reg::Pending1), 0u);
    EXPECT_EQ(rd(Reg::BasicPending), 0x202u);
}

TEST_F(ArmctrlTest, PendingFollowsTheInputLevel) {
    wr(Reg::Enable1, 1u << 29);
    gpu(29, true);
    EXPECT_EQ(rd(Reg::Pending1), 1u << 29);
    gpu(29, false);
    EXPECT_EQ(rd(Reg::Pending1), 0u);
}

TEST_F(ArmctrlTest, ReadingPendingRegistersClearsNothing) {
    wr(Reg::Enable1, 1u << 3);
    wr(Reg::EnableBasic, 0x1);
    gpu(3, true);
    arm(0, true);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(rd(Reg::BasicPending), 0x101u);
        EXPECT_EQ(rd(Reg::Pending1), 0x8u);
    }
    EXPECT_TRUE(irq());
}

TEST_F(ArmctrlTest, BasicPendingLowByteIsTheEnabledArmSources) {
    wr(Reg::EnableBasic, 0xff);
    for (unsigned b = 0; b < 8; ++b) {
        arm(b, true);
        EXPECT_EQ(rd(Reg::BasicPending), 1u << b) << "ARM source " << b;
        arm(b, false);
    }
    EXPECT_EQ(rd(Reg::BasicPending), 0u);
}

TEST_F(ArmctrlTest, EachShortcutGpuIrqSetsItsOwnBasicPendingBit) {
    const unsigned shortcuts[] = {7, 9, 10, 18, 19, 53, 54, 55, 56, 57, 62};
    wr(Reg::Enable1, 0xffff'ffff);
    wr(Reg::Enable2, 0xffff'ffff);
    for (unsigned i = 0; i < 11; ++i) {
        gpu(shortcuts[i], true);
        // Datasheet 7.2: shortcut IRQs are NOT counted in bits 8 and 9.
        EXPECT_EQ(rd(Reg::BasicPending), 1u << (10 + i)) << "GPU IRQ " << shortcuts[i];
        gpu(shortcuts[i], false);
    }
}

TEST_F(ArmctrlTest, BasicPendingBits8And9SummariseTheOtherGpuIrqs) {
    wr(Reg::Enable1, 0xffff'ffff);
    wr(Reg::Enable2, 0xffff'ffff);
    gpu(5, true);
    EXPECT_EQ(rd(Reg::BasicPending), 0x100u);
    gpu(7, true); // shortcut: bit 10 joins, bit 8 stays for IRQ 5
    EXPECT_EQ(rd(Reg::BasicPending), 0x500u);
    gpu(5, false);
    EXPECT_EQ(rd(Reg::BasicPending), 0x400u);
    gpu(7, false);
    gpu(63, true);
    EXPECT_EQ(rd(Reg::BasicPending), 0x200u);
    gpu(62, true);
    EXPECT_EQ(rd(Reg::BasicPending), 0x10'0200u);
    gpu(63, false);
    EXPECT_EQ(rd(Reg::BasicPending), 0x10'0000u);
    EXPECT_EQ(rd(Reg::Pending2), 0x4000'0000u); // pending 2 still shows IRQ 62
}

TEST_F(ArmctrlTest, PendingRegistersIgnoreWrites) {
    wr(Reg::Enable1, 1u << 3);
    gpu(3, true);
    wr(Reg::Pending1, 0xffff'ffff);
    wr(Reg::BasicPending, 0xffff'ffff);
    wr(Reg::Pending2, 0xffff'ffff);
    EXPECT_EQ(rd(Reg::Pending1), 0x8u);
    EXPECT_EQ(rd(Reg::BasicPending), 0x100u);
    EXPECT_EQ(rd(Reg::Pending2), 0u);
}

// ---- output lines ----

TEST_F(ArmctrlTest, IrqOutIsHighWhileAnEnabledSourceIsHigh) {
    gpu(33, true);
    EXPECT_FALSE(irq());
    wr(Reg::Enable2, 0x2);
    EXPECT_TRUE(irq());
    wr(Reg::Disable2, 0x2);
    EXPECT_FALSE(irq());
    wr(Reg::Enable2, 0x2);
    gpu(33, false);
    EXPECT_FALSE(irq());
    arm(7, true);
    wr(Reg::EnableBasic, 0x80);
    EXPECT_TRUE(irq());
    wr(Reg::DisableBasic, 0x80);
    EXPECT_FALSE(irq());
}

TEST_F(ArmctrlTest, LinesChangeOnlyWhenTheRecomputedLevelChanges) {
    gpu(10, true); // not enabled: no line change
    EXPECT_TRUE(sink.calls.empty());
    wr(Reg::Enable1, 1u << 10);
    ASSERT_EQ(sink.calls.size(), 1u);
    EXPECT_EQ(sink.calls[0], std::make_pair(kIrqIn, true));
    rd(Reg::BasicPending); // reads never touch the lines
    rd(Reg::Pending1);
    wr(Reg::Enable1, 1u << 10); // same level: IrqLine reports nothing
    gpu(11, true);
    EXPECT_EQ(sink.calls.size(), 1u);
    wr(Reg::Disable1, 1u << 10);
    ASSERT_EQ(sink.calls.size(), 2u);
    EXPECT_EQ(sink.calls[1], std::make_pair(kIrqIn, false));
}

TEST_F(ArmctrlTest, IrqOutputsListsTheIrqLineOnly) {
    auto outs = ic.irq_outputs();
    ASSERT_EQ(outs.size(), 1u);
    EXPECT_EQ(outs[0], &ic.irq_out());
}

// ---- FIQ ----

TEST_F(ArmctrlTest, FiqSelectedSourceRaisesFiqOutAndNotIrqOut) {
    wr(Reg::FiqControl, 0x80 | 57); // UART, IRQ enable left clear as 7.3 advises
    gpu(57, true);
    EXPECT_TRUE(fiq());
    EXPECT_FALSE(irq());
    EXPECT_EQ(rd(Reg::Pending2), 0u); // pending shows IRQ-enabled sources only
    gpu(57, false);
    EXPECT_FALSE(fiq());
    ASSERT_EQ(sink.calls.size(), 2u);
    EXPECT_EQ(sink.calls[0], std::make_pair(kFiqIn, true));
    EXPECT_EQ(sink.calls[1], std::make_pair(kFiqIn, false));
}

TEST_F(ArmctrlTest, FiqSelectReachesArmBasicSourcesAt64To71) {
    wr(Reg::FiqControl, 0x80 | 64); // ARM timer
    arm(0, true);
    EXPECT_TRUE(fiq());
    arm(0, false);
    wr(Reg::FiqControl, 0x80 | 71); // illegal access type 0
    arm(7, true);
    EXPECT_TRUE(fiq());
    EXPECT_FALSE(irq());
}

TEST_F(ArmctrlTest, FiqSourceWithItsIrqEnableSetRaisesBoth) {
    // Datasheet 7.3: "Otherwise an normal and a FIQ interrupt will be fired".
    wr(Reg::FiqControl, 0x80 | 9);
    wr(Reg::Enable1, 1u << 9);
    gpu(9, true);
    EXPECT_TRUE(fiq());
    EXPECT_TRUE(irq());
}

TEST_F(ArmctrlTest, FiqEnableBitGatesTheSelectedSource) {
    wr(Reg::FiqControl, 57);
    gpu(57, true);
    EXPECT_FALSE(fiq());
    wr(Reg::FiqControl, 0x80 | 57);
    EXPECT_TRUE(fiq());
    wr(Reg::FiqControl, 0x80 | 56); // another source: the line follows IRQ 56
    EXPECT_FALSE(fiq());
}

TEST_F(ArmctrlTest, FiqControlReadsBackSourceAndEnableOnly) {
    wr(Reg::FiqControl, 0xffff'ff00 | 0x80 | 45);
    EXPECT_EQ(rd(Reg::FiqControl), 0xadu);
    wr(Reg::FiqControl, 0x7f);
    EXPECT_EQ(rd(Reg::FiqControl), 0x7fu);
}

TEST_F(ArmctrlTest, FiqSourcesAbove71SelectNothing) {
    for (unsigned i = 0; i < 64; ++i)
        gpu(i, true);
    for (unsigned b = 0; b < 8; ++b)
        arm(b, true);
    for (uint32_t sel = 72; sel < 128; ++sel) {
        wr(Reg::FiqControl, 0x80 | sel);
        EXPECT_FALSE(fiq()) << "source " << sel;
    }
}

// ---- DT ----

TEST_F(ArmctrlTest, XlateMapsBankAndBitToInputs) {
    EXPECT_EQ(ic.interrupt_cells(), 2u);
    EXPECT_EQ(xl({0, 0}).value(), 64u);
    EXPECT_EQ(xl({0, 7}).value(), 71u);
    EXPECT_EQ(xl({1, 0}).value(), 0u);
    EXPECT_EQ(xl({1, 31}).value(), 31u);
    EXPECT_EQ(xl({2, 0}).value(), 32u);
    EXPECT_EQ(xl({2, 25}).value(), 57u); // the PL011
    EXPECT_EQ(xl({2, 31}).value(), 63u);
    EXPECT_EQ(xl({2, 25}, 3).value(), 57u); // cpu is irrelevant
    EXPECT_FALSE(ic.is_percpu(std::vector<uint32_t>{1, 3}));
}

TEST_F(ArmctrlTest, XlateRejectsBadSpecifiersNamingTheProblem) {
    auto e = xl({0, 8});
    ASSERT_TRUE(e.is_error());
    EXPECT_NE(e.error().message.find("bank 0"), std::string::npos) << e.error().message;
    e = xl({1, 32});
    ASSERT_TRUE(e.is_error());
    EXPECT_NE(e.error().message.find("bank 1"), std::string::npos) << e.error().message;
    e = xl({2, 32});
    ASSERT_TRUE(e.is_error());
    e = xl({3, 0});
    ASSERT_TRUE(e.is_error());
    EXPECT_NE(e.error().message.find("bank 3"), std::string::npos) << e.error().message;
    EXPECT_TRUE(xl({1}).is_error());
    EXPECT_TRUE(xl({1, 2, 4}).is_error());
    EXPECT_TRUE(xl({}).is_error());
}

TEST_F(ArmctrlTest, XlatedInputsDriveTheNamedSource) {
    wr(Reg::Enable2, 1u << 25);
    ic.irq_sink().set_irq_input(xl({2, 25}).value(), true);
    EXPECT_EQ(rd(Reg::Pending2), 1u << 25);
    wr(Reg::EnableBasic, 1u << 3);
    ic.irq_sink().set_irq_input(xl({0, 3}).value(), true);
    EXPECT_EQ(rd(Reg::BasicPending) & 0xff, 1u << 3);
}

// ---- bad accesses ----

TEST_F(ArmctrlTest, UnknownOffsetsReadZeroAndIgnoreWrites) {
    wr(Reg::Enable1, 0xffff'ffff);
    gpu(1, true);
    for (uint32_t off : {0x28u, 0x2cu, 0x100u, 0x1fcu}) {
        ic.write(off, 0xffff'ffff, 4);
        EXPECT_EQ(ic.read(off, 4), 0u) << "offset 0x" << std::hex << off;
    }
    EXPECT_EQ(ic.read(0x200, 4), 0u); // past the window
    ic.write(0x200, 0xffff'ffff, 4);
    EXPECT_EQ(rd(Reg::Enable1), 0xffff'ffffu);
    EXPECT_EQ(rd(Reg::Pending1), 0x2u);
    EXPECT_EQ(sink.calls.size(), 1u); // only the enable raised the line
}

TEST_F(ArmctrlTest, SubWordAndMisalignedAccessesReadZeroAndAreIgnored) {
    wr(Reg::Enable1, 0x0000'00ff);
    EXPECT_EQ(ic.read(0x10, 1), 0u);
    EXPECT_EQ(ic.read(0x10, 2), 0u);
    EXPECT_EQ(ic.read(0x12, 4), 0u);
    ic.write(0x10, 0xff, 1);        // would enable 7:0 again if taken
    ic.write(0x1c, 0xff, 1);        // would disable 7:0
    ic.write(0x1e, 0xffff, 2);      // would disable 31:16
    ic.write(0x11, 0xffff'ffff, 4); // misaligned
    EXPECT_EQ(rd(Reg::Enable1), 0x0000'00ffu);
}

} // namespace
