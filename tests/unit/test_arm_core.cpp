// ArmCore: exception entry against the ARM ARM (DDI 0406C B1.8.3, tables B1-6 and
// B1-7), banked registers, and the stops Unicorn reports for guest events.
#include <cstring>
#include <iterator>
#include <vector>

#include <gtest/gtest.h>
#include <unicorn/unicorn.h>

#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"

using namespace piemu;

namespace {

class CoreTest : public ::testing::Test {
protected:
    CoreTest() : clock(1'000'000'000), bus(16u << 20), core(0, clock, bus) {}
    void SetUp() override { ASSERT_FALSE(core.init().is_error()); }

    void put(uint32_t addr, std::vector<uint32_t> words) {
        ASSERT_TRUE(
            bus.write_phys(addr, {reinterpret_cast<uint8_t*>(words.data()), words.size() * 4}));
    }
    void put16(uint32_t addr, std::vector<uint16_t> halves) {
        ASSERT_TRUE(
            bus.write_phys(addr, {reinterpret_cast<uint8_t*>(halves.data()), halves.size() * 2}));
    }
    // Enters `mode` with the given extra CPSR bits, as guest code would be running.
    void enter(CpuMode mode, uint32_t extra = 0) {
        core.set_cpsr((core.cpsr() & ~(psr::M | psr::I | psr::F | psr::A | psr::T | psr::IT)) |
                      uint32_t(mode) | extra);
    }
    // Runs until the core stops for something other than a yield (a block hook's
    // stop to install hooks, or a trap it emulated).
    StopInfo run_past_yields() {
        StopInfo s;
        do {
            s = core.run();
        } while (s.reason == StopReason::Yield);
        return s;
    }

    VirtualClock clock;
    Bus bus;
    ArmCore core;
};

struct EntryCase {
    ExceptionType type;
    CpuMode target;
    uint32_t lr_offset_arm, lr_offset_thumb, vector;
    bool sets_a, sets_f;
};

// Table B1-7 (LR offsets) and B1-6 (which of A, I, F are set); I is always set.
const EntryCase kEntryCases[] = {
    {ExceptionType::Undefined, CpuMode::Und, 4, 2, 0x04, false, false},
    {ExceptionType::Svc, CpuMode::Svc, 4, 2, 0x08, false, false},
    {ExceptionType::PrefetchAbort, CpuMode::Abt, 4, 4, 0x0c, true, false},
    {ExceptionType::DataAbort, CpuMode::Abt, 8, 8, 0x10, true, false},
    {ExceptionType::Irq, CpuMode::Irq, 4, 4, 0x18, true, false},
    {ExceptionType::Fiq, CpuMode::Fiq, 4, 4, 0x1c, true, true},
};

} // namespace

TEST_F(CoreTest, ExceptionEntryFromEveryModeAndState) {
    const CpuMode sources[] = {CpuMode::Usr, CpuMode::Svc, CpuMode::Sys,
                               CpuMode::Irq, CpuMode::Und, CpuMode::Abt};
    core.set_cp15(12, 0, 0, 0, 0x00100000); // VBAR
    for (const EntryCase& c : kEntryCases) {
        for (CpuMode from : sources) {
            for (bool thumb : {false, true}) {
                SCOPED_TRACE(testing::Message()
                             << exception_name(c.type) << " from mode 0x" << std::hex
                             << uint32_t(from) << " thumb " << thumb);
                // Flags, Q, GE and an IT state in the old CPSR, all to be saved in SPSR.
                uint32_t extra = psr::N | psr::C | psr::Q | (0x5u << 16) |
                                 (thumb ? (psr::T | (1u << 25) | (0x08u << 10)) : 0);
                enter(from, extra);
                uint32_t old = core.cpsr();
                core.take_exception(c.type, 0x8000, thumb);
                uint32_t now = core.cpsr();
                EXPECT_EQ(now & psr::M, uint32_t(c.target));
                EXPECT_EQ(core.spsr(), old);
                EXPECT_EQ(core.reg(14), 0x8000 + (thumb ? c.lr_offset_thumb : c.lr_offset_arm));
                EXPECT_TRUE(now & psr::I);
                EXPECT_EQ(bool(now & psr::A), c.sets_a);
                EXPECT_EQ(bool(now & psr::F), c.sets_f);
                EXPECT_EQ(now & (psr::T | psr::IT | psr::J | psr::E), 0u);
                // Condition flags, Q and GE carry over unchanged.
                EXPECT_EQ(now & 0xf80f0000u, old & 0xf80f0000u);
                EXPECT_EQ(core.pc(), 0x00100000 + c.vector);
            }
        }
    }
}

TEST_F(CoreTest, HighVectorsAndThumbExceptionsFollowSctlr) {
    uint32_t sctlr = core.sctlr();
    core.set_cp15(1, 0, 0, 0, sctlr | (1u << 13)); // V: vectors at 0xffff0000
    enter(CpuMode::Svc);
    core.take_exception(ExceptionType::Irq, 0x1234, false);
    EXPECT_EQ(core.pc(), 0xffff0018u);

    core.set_cp15(1, 0, 0, 0, (sctlr & ~(1u << 13)) | (1u << 30)); // TE: Thumb entry
    core.set_cp15(12, 0, 0, 0, 0x2000);
    enter(CpuMode::Svc);
    core.take_exception(ExceptionType::Svc, 0x1234, false);
    EXPECT_TRUE(core.cpsr() & psr::T);
    EXPECT_EQ(core.pc(), 0x2008u);
}

TEST_F(CoreTest, ResetEntryMasksEverything) {
    enter(CpuMode::Usr);
    core.take_exception(ExceptionType::Reset, 0, false);
    EXPECT_EQ(core.cpsr() & (psr::M | psr::A | psr::I | psr::F),
              uint32_t(CpuMode::Svc) | psr::A | psr::I | psr::F);
}

TEST_F(CoreTest, BankedRegistersAreSeparatePerMode) {
    core.set_banked_sp(CpuMode::Irq, 0x1000);
    core.set_banked_sp(CpuMode::Svc, 0x2000);
    core.set_banked_sp(CpuMode::Abt, 0x3000);
    EXPECT_EQ(core.banked_sp(CpuMode::Irq), 0x1000u);
    EXPECT_EQ(core.banked_sp(CpuMode::Svc), 0x2000u);
    EXPECT_EQ(core.banked_sp(CpuMode::Abt), 0x3000u);
    // USR and SYS share SP.
    core.set_banked_sp(CpuMode::Usr, 0x4000);
    EXPECT_EQ(core.banked_sp(CpuMode::Sys), 0x4000u);
}

TEST_F(CoreTest, InterruptsTakenOnlyWhenUnmaskedFiqFirst) {
    core.set_cp15(12, 0, 0, 0, 0);
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    core.set_irq_input(ArmCore::kIrqInput, true);
    core.set_irq_input(ArmCore::kFiqInput, true);
    EXPECT_FALSE(core.deliver_interrupts().has_value());
    enter(CpuMode::Svc, psr::F); // IRQs unmasked, FIQ masked
    core.set_pc(0x8000, false);
    EXPECT_EQ(core.deliver_interrupts(), ExceptionType::Irq);
    EXPECT_EQ(core.reg(14), 0x8004u);
    enter(CpuMode::Svc); // both unmasked: FIQ has priority
    core.set_pc(0x8000, false);
    EXPECT_EQ(core.deliver_interrupts(), ExceptionType::Fiq);
    EXPECT_EQ(core.cpsr() & psr::M, uint32_t(CpuMode::Fiq));
}

TEST_F(CoreTest, RunStopsWithTheGuestEvent) {
    clock.set_stop_at(VirtualClock::kNever);
    struct Case {
        const char* name;
        std::vector<uint32_t> code;
        StopReason reason;
        uint32_t pc;
    } cases[] = {
        {"svc", {0xe3a00001, 0xef000005}, StopReason::Svc, 0x8004},
        {"udf", {0xe3a00001, 0xe7f000f0}, StopReason::Undefined, 0x8004},
        {"wfi", {0xe3a00001, 0xe320f003}, StopReason::Wfi, 0x8004},
        {"wfe", {0xe3a00001, 0xe320f002}, StopReason::Wfe, 0x8004},
        {"smc", {0xe3a00001, 0xe1600070}, StopReason::Smc, 0x8004},
        {"bkpt", {0xe3a00001, 0xe1200070}, StopReason::PrefetchAbort, 0x8004},
    };
    for (auto& c : cases) {
        SCOPED_TRACE(c.name);
        put(0x8000, c.code);
        uc_ctl_remove_cache(core.uc(), 0x8000, 0x8100);
        enter(CpuMode::Svc, psr::I | psr::F);
        core.set_pc(0x8000, false);
        // A block with a WFE first stops (Yield) to get the WFE's hook installed
        // (multicore.cpp), as one with a c14 access does; the run loop runs it again.
        StopInfo s = core.run();
        if (s.reason == StopReason::Yield && s.pc == 0x8000)
            s = core.run();
        EXPECT_EQ(s.reason, c.reason);
        EXPECT_EQ(s.pc, c.pc);
        EXPECT_EQ(s.insn, c.code[1]);
        EXPECT_EQ(core.reg(0), 1u);
    }
}

TEST_F(CoreTest, ThumbUndefinedAndSvcReportTheirOwnAddress) {
    clock.set_stop_at(VirtualClock::kNever);
    put16(0x9000, {0x2001, 0xdf05}); // movs r0,#1; svc #5
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x9000, true);
    StopInfo s = core.run();
    EXPECT_EQ(s.reason, StopReason::Svc);
    EXPECT_TRUE(s.thumb);
    EXPECT_EQ(s.pc, 0x9002u);
    EXPECT_EQ(s.insn, 0xdf05u);
    EXPECT_EQ(s.insn_size, 2u);
    core.take_exception(ExceptionType::Svc, s.pc, s.thumb);
    EXPECT_EQ(core.reg(14), 0x9004u); // the next instruction

    put16(0x9100, {0x2001, 0xde00}); // movs r0,#1; udf #0
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x9100, true);
    s = core.run();
    EXPECT_EQ(s.reason, StopReason::Undefined);
    EXPECT_EQ(s.pc, 0x9102u);
    core.take_exception(ExceptionType::Undefined, s.pc, s.thumb);
    EXPECT_EQ(core.reg(14), 0x9104u); // faulting + 2 in Thumb
}

TEST_F(CoreTest, ExclusiveMisalignmentIsAnAlignmentFaultWithAddress) {
    clock.set_stop_at(VirtualClock::kNever);
    // mov r2,#0x2000; add r2,r2,#1; ldrex r0,[r2]
    put(0x8000, {0xe3a02a02, 0xe2822001, 0xe1920f9f});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    StopInfo s = core.run();
    EXPECT_EQ(s.reason, StopReason::DataAbort);
    EXPECT_EQ(s.pc, 0x8008u);
    EXPECT_EQ(s.fsr, fsc::Alignment);
    EXPECT_EQ(s.far, 0x2001u);
}

// A flat section map of the first 16 MiB with section 3 missing and section 4
// privileged-only (AP = 0b01), domain 0 as client.
class MmuTest : public CoreTest {
protected:
    void SetUp() override {
        CoreTest::SetUp();
        for (uint32_t i = 0; i < 16; ++i) {
            uint32_t desc = (i << 20) | (0x3u << 10) | 0x2; // section, AP=11 full access
            if (i == 3)
                desc = 0;
            if (i == 4)
                desc = (i << 20) | (0x1u << 10) | 0x2; // AP=01: PL1 RW, PL0 none
            if (i == 5)
                desc = (i << 20) | (0x3u << 10) | (1u << 4) | 0x2; // XN
            put(kTable + i * 4, {desc});
        }
        core.set_cp15(2, 0, 0, 0, kTable); // TTBR0
        core.set_cp15(2, 0, 0, 2, 0);      // TTBCR
        core.set_cp15(3, 0, 0, 0, 0x1);    // DACR: domain 0 client
        core.set_cp15(1, 0, 0, 0, core.sctlr() | 1);
        clock.set_stop_at(VirtualClock::kNever);
    }
    static constexpr uint32_t kTable = 0x00c00000; // 16 KiB aligned
};

TEST_F(MmuTest, TranslationFaultsOnLoadStoreAndFetch) {
    // mov r2,#0x300000; add r2,r2,#0x10; ldr r0,[r2]
    put(0x8000, {0xe3a02603, 0xe2822010, 0xe5920000});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    StopInfo s = core.run();
    EXPECT_EQ(s.reason, StopReason::DataAbort);
    EXPECT_EQ(s.pc, 0x8008u);
    EXPECT_EQ(s.fsr, fsc::TranslationSection);
    EXPECT_EQ(s.far, 0x300010u);

    // the same with str r0,[r2, #4]: WnR set
    put(0x8100, {0xe3a02603, 0xe2822010, 0xe5820004});
    core.set_pc(0x8100, false);
    s = core.run();
    EXPECT_EQ(s.reason, StopReason::DataAbort);
    EXPECT_EQ(s.fsr, fsc::TranslationSection | fsc::WnR);
    EXPECT_EQ(s.far, 0x300014u);

    // branch into the hole: mov r2,#0x300000; add r2,#0x40; bx r2
    put(0x8200, {0xe3a02603, 0xe2822040, 0xe12fff12});
    core.set_pc(0x8200, false);
    s = core.run();
    EXPECT_EQ(s.reason, StopReason::PrefetchAbort);
    EXPECT_EQ(s.pc, 0x300040u);
    EXPECT_EQ(s.far, 0x300040u);
    EXPECT_EQ(s.fsr, fsc::TranslationSection);
    core.take_abort(s);
    EXPECT_EQ(core.cp15(5, 0, 0, 1), fsc::TranslationSection); // IFSR
    EXPECT_EQ(core.cp15(6, 0, 0, 2), 0x300040u);               // IFAR
    EXPECT_EQ(core.reg(14), 0x300044u);
}

TEST_F(MmuTest, PermissionFaultFromUserModeOnly) {
    // mov r2,#0x400000; ldr r0,[r2, #8]
    put(0x8000, {0xe3a02501, 0xe5920008, 0xe320f003});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    StopInfo s = core.run();
    EXPECT_EQ(s.reason, StopReason::Wfi) << "privileged access is allowed";

    enter(CpuMode::Usr, psr::I | psr::F);
    core.set_pc(0x8000, false);
    s = core.run();
    EXPECT_EQ(s.reason, StopReason::DataAbort);
    EXPECT_EQ(s.fsr, fsc::PermissionSection);
    EXPECT_EQ(s.far, 0x400008u);
    core.take_abort(s);
    EXPECT_EQ(core.cp15(5, 0, 0, 0), fsc::PermissionSection); // DFSR
    EXPECT_EQ(core.cp15(6, 0, 0, 0), 0x400008u);              // DFAR
    EXPECT_EQ(core.reg(14), 0x8004u + 8);
    EXPECT_EQ(core.spsr() & psr::M, uint32_t(CpuMode::Usr));
}

TEST_F(MmuTest, ExecuteNeverIsAPermissionFault) {
    put(0x8000, {0xe3a02605, 0xe12fff12}); // mov r2,#0x500000; bx r2
    put(0x500000, {0xe320f003});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    StopInfo s = core.run();
    EXPECT_EQ(s.reason, StopReason::PrefetchAbort);
    EXPECT_EQ(s.fsr, fsc::PermissionSection);
    EXPECT_EQ(s.far, 0x500000u);
}

TEST_F(MmuTest, DomainNoAccessIsADomainFault) {
    core.set_cp15(3, 0, 0, 0, 0x0); // domain 0: no access
    // Our own code must stay reachable: walk it with the MMU off, then test translate().
    Translation t = core.translate(0x100000, Access::Read, true);
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.fsr, fsc::DomainSection);
    core.set_cp15(3, 0, 0, 0, 0x3); // manager: permissions not checked
    t = core.translate(0x400000, Access::Write, false);
    EXPECT_TRUE(t.ok);
    EXPECT_EQ(t.pa, 0x400000u);
}

TEST_F(MmuTest, SmallPagesThroughASecondLevelTable) {
    // Section 6 -> coarse table at 0xc10000; page 2 of it maps to 0x7000, page 3 absent.
    put(kTable + 6 * 4, {0x00c10000 | (0u << 5) | 0x1});
    put(0x00c10000 + 2 * 4, {0x00007000 | (0x3u << 4) | 0x2});
    put(0x00c10000 + 3 * 4, {0});
    Translation t = core.translate(0x602abc, Access::Read, false);
    EXPECT_TRUE(t.ok);
    EXPECT_EQ(t.pa, 0x7abcu);
    t = core.translate(0x603000, Access::Read, true);
    EXPECT_FALSE(t.ok);
    EXPECT_EQ(t.fsr, fsc::TranslationPage);
}

// A guest TLB invalidation by address covers the whole entry (a 4 KiB page here), while
// Unicorn caches translations per 1 KiB: remapping a page and invalidating it must
// reach accesses anywhere in it. Linux's patch_text() remaps one fixmap page to each
// text page it patches (the stale 1 KiB entries once sent ftrace's nops into the
// wrong page and broke the Debian kernel's boot).
TEST_F(MmuTest, TlbInvalidateByAddressCoversTheWhole4KPage) {
    put(kTable + 6 * 4, {0x00c04000 | 0x1}); // VA 0x600000: a coarse table
    // mov r1,#1; str r1,[r0,#0x400] (fills the entry of the page's 2nd KiB);
    // str r3,[r2] (the new descriptor); dsb; TLBI... r0; dsb; isb;
    // mov r1,#2; str r1,[r0,#0x400]; wfi
    // TLBIMVA, TLBIMVAIS, TLBIMVAA, TLBIMVAAIS, DTLBIMVA: mcr p15,0,r0,c8,CRm,opc2
    const uint32_t tlbis[] = {0xee080f37, 0xee080f33, 0xee080f77, 0xee080f73, 0xee080f36};
    for (uint32_t page = 0; page < std::size(tlbis); ++page) {
        SCOPED_TRACE(testing::Message() << "TLBI 0x" << std::hex << tlbis[page]);
        const uint32_t va = 0x600000 + page * 0x1000, old_pa = 0x700000 + page * 0x1000;
        const uint32_t new_pa = 0x710000 + page * 0x1000;
        put(0x00c04000 + page * 4, {old_pa | (0x3u << 4) | 0x2});
        put(0x8000, {0xe3a01001, 0xe5801400, 0xe5823000, 0xf57ff04f, tlbis[page], 0xf57ff04f,
                     0xf57ff06f, 0xe3a01002, 0xe5801400, 0xe320f003});
        enter(CpuMode::Svc, psr::I | psr::F);
        core.set_reg(0, va);
        core.set_reg(2, 0x00c04000 + page * 4);
        core.set_reg(3, new_pa | (0x3u << 4) | 0x2);
        core.set_pc(0x8000, false);
        StopInfo s = run_past_yields();
        EXPECT_EQ(s.reason, StopReason::Wfi);
        uint32_t in_old = 0, in_new = 0;
        bus.read32(old_pa + 0x400, in_old);
        bus.read32(new_pa + 0x400, in_new);
        EXPECT_EQ(in_old, 1u) << "the store before the remap";
        EXPECT_EQ(in_new, 2u) << "the store after the invalidation reaches the new page";
    }
}

// Stepping with the MMU on, as a kernel at 0xc0000000 runs: the step hook must reach
// code translated earlier at a virtual address that differs from its physical one,
// and dropping translations must not walk addresses the guest has not mapped (that
// walk's fault was once reported as a prefetch abort of the stepped instruction).
TEST_F(MmuTest, StepAtAVirtualAddressOtherThanThePhysicalOne) {
    put(kTable + 0xc00 * 4, {0x00000000 | (0x3u << 10) | 0x2}); // VA 0xc0000000 -> PA 0
    put(kTable + 0, {0});                                       // VA 0 unmapped
    // mov r0,#1; mov r1,#2; add r2,r0,r1; wfi (one block), at PA 0x8000
    put(0x8000, {0xe3a00001, 0xe3a01002, 0xe0802001, 0xe320f003});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0xc0008000, false);
    StopInfo s = core.run(); // translates the block without a step hook
    EXPECT_EQ(s.reason, StopReason::Wfi);
    EXPECT_EQ(core.reg(2), 3u);
    core.set_reg(0, 0);
    core.set_reg(2, 0);
    core.set_pc(0xc0008000, false);
    s = core.step();
    EXPECT_EQ(s.reason, StopReason::Yield);
    EXPECT_EQ(core.pc(), 0xc0008004u) << "exactly one instruction";
    EXPECT_EQ(core.reg(0), 1u);
    EXPECT_EQ(core.reg(2), 0u);
    s = core.step();
    EXPECT_EQ(s.reason, StopReason::Yield);
    EXPECT_EQ(core.pc(), 0xc0008008u);
    // A breakpoint on code already translated at the virtual address stops there.
    core.set_pc(0xc0008000, false);
    core.run(); // back to full speed; translates again
    core.add_breakpoint(0xc0008008);
    core.set_pc(0xc0008000, false);
    s = core.run();
    EXPECT_EQ(s.reason, StopReason::Breakpoint);
    EXPECT_EQ(s.pc, 0xc0008008u);
}

// Guest writes to SCTLR are trapped (HCR.TVM) and emulated; with SCTLR.A set, a
// misaligned word load is an alignment fault taken before the load executes.
TEST_F(CoreTest, GuestSctlrWriteEnablesAlignmentFaults) {
    clock.set_stop_at(VirtualClock::kNever);
    // mrc p15,0,r1,c1,c0,0; orr r1,r1,#2; mcr p15,0,r1,c1,c0,0; isb;
    // mov r2,#0x2000; add r2,r2,#1; mov r0,#7; ldr r0,[r2]
    put(0x8000, {0xee111f10, 0xe3811002, 0xee011f10, 0xf57ff06f, 0xe3a02a02, 0xe2822001, 0xe3a00007,
                 0xe5920000});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    EXPECT_FALSE(core.alignment_checking());
    StopInfo s = run_past_yields();
    EXPECT_TRUE(core.sctlr() & 2) << "the trapped MCR was emulated";
    EXPECT_TRUE(core.alignment_checking());
    EXPECT_EQ(s.reason, StopReason::DataAbort);
    EXPECT_EQ(s.pc, 0x801cu);
    EXPECT_EQ(s.fsr, fsc::Alignment);
    EXPECT_EQ(s.far, 0x2001u);
    EXPECT_EQ(core.reg(0), 7u) << "the faulting load must not have executed";
}

TEST_F(CoreTest, AlignmentCheckSkipsLoadsWhoseConditionFails) {
    clock.set_stop_at(VirtualClock::kNever);
    core.set_cp15(1, 0, 0, 0, core.sctlr() | 2);
    ASSERT_TRUE(core.alignment_checking());
    // mov r2,#0x2000; add r2,#2; cmp r2,r2 (Z=1); ldrne r0,[r2]; ldrheq r1,[r2]; wfi
    put(0x8000, {0xe3a02a02, 0xe2822002, 0xe1520002, 0x15920000, 0x01d210b0, 0xe320f003});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    StopInfo s = core.run();
    EXPECT_EQ(s.reason, StopReason::Wfi) << "ldrne is skipped, ldrheq is halfword aligned";
    // Clearing SCTLR.A removes the check again.
    core.set_cp15(1, 0, 0, 0, core.sctlr() & ~2u);
    EXPECT_FALSE(core.alignment_checking());
}

TEST_F(CoreTest, TrappedTtbrAndDacrWritesReachTheRegisters) {
    clock.set_stop_at(VirtualClock::kNever);
    // ldr r0,=0x00c04000 (mov/orr); mcr p15,0,r0,c2,c0,0 (TTBR0); mov r1,#0x55;
    // mcr p15,0,r1,c3,c0,0 (DACR); mcr p15,0,r1,c13,c0,1 (CONTEXTIDR); wfi
    put(0x8000,
        {0xe3a00503, 0xe3800901, 0xee020f10, 0xe3a01055, 0xee031f10, 0xee0d1f30, 0xe320f003});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    StopInfo s = run_past_yields();
    EXPECT_EQ(s.reason, StopReason::Wfi);
    EXPECT_EQ(core.cp15(2, 0, 0, 0), 0x00c04000u);
    EXPECT_EQ(core.cp15(3, 0, 0, 0), 0x55u);
    EXPECT_EQ(core.cp15(13, 0, 0, 1), 0x55u);
}

TEST_F(CoreTest, UserModeCannotWriteSctlr) {
    clock.set_stop_at(VirtualClock::kNever);
    put(0x8000, {0xe3a01000, 0xee011f10}); // mov r1,#0; mcr p15,0,r1,c1,c0,0
    enter(CpuMode::Usr, psr::I | psr::F);
    core.set_pc(0x8000, false);
    uint32_t before = core.sctlr();
    StopInfo s = core.run();
    EXPECT_EQ(s.reason, StopReason::Undefined);
    EXPECT_EQ(s.pc, 0x8004u);
    EXPECT_EQ(core.sctlr(), before);
}

// ---- the debugger's primitives: step(), breakpoints, watchpoints

TEST_F(CoreTest, StepExecutesExactlyOneInstructionAndCountsIt) {
    clock.set_stop_at(VirtualClock::kNever);
    // mov r0,#1; mov r1,#2; add r2,r0,r1; b . (a block of four)
    put(0x8000, {0xe3a00001, 0xe3a01002, 0xe0802001, 0xeafffffe});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    uint64_t insns = core.instructions(), now = clock.now();
    StopInfo s = core.step();
    EXPECT_EQ(s.reason, StopReason::Yield);
    EXPECT_EQ(core.pc(), 0x8004u);
    EXPECT_EQ(core.reg(0), 1u);
    EXPECT_NE(core.reg(1), 2u);
    EXPECT_EQ(core.instructions(), insns + 1);
    EXPECT_EQ(clock.now(), now + 1);
    core.step();
    core.step();
    EXPECT_EQ(core.pc(), 0x800cu);
    EXPECT_EQ(core.reg(2), 3u);
    core.step(); // b . stays
    EXPECT_EQ(core.pc(), 0x800cu);
    EXPECT_EQ(core.instructions(), insns + 4);
}

TEST_F(CoreTest, StepReportsSvcWfiAndUndefinedLikeRun) {
    clock.set_stop_at(VirtualClock::kNever);
    put(0x8000, {0xef000005, 0xe320f003, 0xe7f000f0});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_pc(0x8000, false);
    StopInfo s = core.step();
    EXPECT_EQ(s.reason, StopReason::Svc);
    EXPECT_EQ(s.pc, 0x8000u);
    EXPECT_EQ(core.pc(), 0x8004u);
    s = core.step();
    EXPECT_EQ(s.reason, StopReason::Wfi);
    EXPECT_EQ(s.pc, 0x8004u);
    EXPECT_EQ(core.pc(), 0x8008u);
    uint64_t insns = core.instructions();
    s = core.step();
    EXPECT_EQ(s.reason, StopReason::Undefined);
    EXPECT_EQ(s.pc, 0x8008u);
    EXPECT_EQ(core.instructions(), insns); // it did not execute
}

TEST_F(CoreTest, StepThroughAThumb2ItBlockFollowsTheCondition) {
    clock.set_stop_at(VirtualClock::kNever);
    // movs r0,#1; cmp r0,#1; ite eq; moveq r1,#7; movne r1,#9; movs r2,#5
    put16(0x9000, {0x2001, 0x2801, 0xbf0c, 0x2107, 0x2109, 0x2205});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_reg(1, 0);
    core.set_pc(0x9000, true);
    std::vector<uint32_t> pcs;
    for (int i = 0; i < 6; ++i) {
        pcs.push_back(core.pc());
        EXPECT_EQ(core.step().reason, StopReason::Yield);
        if (pcs.back() == 0x9004) { // after ITE: ITSTATE holds the block's conditions
            EXPECT_NE(core.cpsr() & psr::IT, 0u);
        }
    }
    EXPECT_EQ(pcs, (std::vector<uint32_t>{0x9000, 0x9002, 0x9004, 0x9006, 0x9008, 0x900a}));
    EXPECT_EQ(core.reg(1), 7u); // the ne arm was skipped
    EXPECT_EQ(core.reg(2), 5u);
    EXPECT_EQ(core.cpsr() & psr::IT, 0u);
}

TEST_F(CoreTest, BreakpointStopsBeforeTheInstructionAndResumesPastIt) {
    clock.set_stop_at(VirtualClock::kNever);
    // loop: add r0,r0,#1; add r1,r1,#1; cmp r0,#3; bne loop; svc #0
    put(0x8000, {0xe2800001, 0xe2811001, 0xe3500003, 0x1afffffa, 0xef000000});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_reg(0, 0);
    core.set_reg(1, 0);
    core.set_pc(0x8000, false);
    core.add_breakpoint(0x8004);
    StopInfo s = core.run();
    EXPECT_EQ(s.reason, StopReason::Breakpoint);
    EXPECT_EQ(s.pc, 0x8004u);
    EXPECT_EQ(core.pc(), 0x8004u);
    EXPECT_EQ(core.reg(0), 1u);
    EXPECT_EQ(core.reg(1), 0u); // not executed yet
    // Without skipping, a resumed run stops at once; with it, at the next iteration.
    core.skip_breakpoint_once();
    s = core.run();
    EXPECT_EQ(s.reason, StopReason::Breakpoint);
    EXPECT_EQ(core.reg(0), 2u);
    EXPECT_EQ(core.reg(1), 1u);
    core.remove_breakpoint(0x8004);
    core.skip_breakpoint_once();
    s = core.run();
    EXPECT_EQ(s.reason, StopReason::Svc);
    EXPECT_EQ(core.reg(0), 3u);
    EXPECT_EQ(core.reg(1), 3u);
}

TEST_F(CoreTest, WatchpointStopsAfterTheAccessWithItsAddress) {
    clock.set_stop_at(VirtualClock::kNever);
    // mov r2,#0x2000; ldr r0,[r2]; str r0,[r2,#4]; mov r3,#1; svc #0
    put(0x8000, {0xe3a02a02, 0xe5920000, 0xe5820004, 0xe3a03001, 0xef000000});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_reg(3, 0);
    core.set_pc(0x8000, false);
    core.add_watchpoint(0x2004, 4, WatchKind::Write);
    StopInfo s = core.run();
    EXPECT_EQ(s.reason, StopReason::Watchpoint);
    EXPECT_EQ(s.far, 0x2004u);
    EXPECT_EQ(s.watch, WatchKind::Write);
    EXPECT_EQ(s.pc, 0x800cu); // after the str
    EXPECT_EQ(core.pc(), 0x800cu);
    EXPECT_EQ(core.reg(3), 0u);
    core.remove_watchpoint(0x2004, 4, WatchKind::Write);

    core.add_watchpoint(0x2000, 4, WatchKind::Read);
    core.set_pc(0x8000, false);
    s = core.step();
    s = core.step(); // the ldr: the watch hits on the step's last instruction
    EXPECT_EQ(s.reason, StopReason::Watchpoint);
    EXPECT_EQ(s.watch, WatchKind::Read);
    EXPECT_EQ(core.pc(), 0x8008u);
    core.remove_watchpoint(0x2000, 4, WatchKind::Read);
    s = core.run();
    EXPECT_EQ(s.reason, StopReason::Svc);
    EXPECT_EQ(core.reg(3), 1u);
}

TEST_F(CoreTest, StepOverABranchStopsAtItsTargetUnexecuted) {
    clock.set_stop_at(VirtualClock::kNever);
    // 0x8000: bl 0x8010; ... 0x8010: push {r4, lr}; svc #0
    put(0x8000, {0xeb000002, 0xeafffffe, 0xe320f000, 0xe320f000, 0xe92d4010, 0xef000000});
    enter(CpuMode::Svc, psr::I | psr::F);
    core.set_reg(13, 0x100000);
    core.set_pc(0x8000, false);
    EXPECT_EQ(core.step().reason, StopReason::Yield);
    EXPECT_EQ(core.pc(), 0x8010u);
    EXPECT_EQ(core.reg(14), 0x8004u);
    EXPECT_EQ(core.reg(13), 0x100000u); // the push has not run
    core.step();
    EXPECT_EQ(core.reg(13), 0x100000u - 8);
    EXPECT_EQ(core.pc(), 0x8014u);
}
