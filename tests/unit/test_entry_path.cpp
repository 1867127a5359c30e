// The kernel model's entry path: the vector page's __irq_svc against the reference
// listing, and the pt_regs frame an IRQ builds on the interrupted task's kernel stack
// (from SVC and USR mode), read back from guest memory by a built-in handler.
#include <capstone/capstone.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kernel/kernel_model.hpp"
#include "kernel/vector_page.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/guest_abi.h"
#include "piemu/loader.hpp"
#include "piemu/machine.hpp"

using namespace piemu;
using namespace piemu::kernel;

namespace {

uint32_t page_word(uint32_t addr) {
    auto image = vector_page_image();
    uint32_t off = addr - PIEMU_KM_VECTORS;
    return uint32_t(image[off]) | uint32_t(image[off + 1]) << 8 | uint32_t(image[off + 2]) << 16 |
           uint32_t(image[off + 3]) << 24;
}

} // namespace

// linux-irq-facts.md, "__irq_svc disassembly" (Raspbian 4.14): the same instruction
// words at our addresses. The listing omits ten instructions ("생략"); those are
// upstream svc_entry's (add r7; mov r6, #-1; add r2; addeq r2; str r3, [sp, #-4]!;
// mov r3, lr; stmia r7; get_thread_info; ldr r0, [tsk, #TI_ADDR_LIMIT]).
TEST(EntryPath, IrqSvcEntryIsTheReferenceListing) {
    struct Expected {
        uint32_t word;
        const char* text; ///< Capstone's rendering
    };
    const Expected expected[] = {
        {0xe24dd04c, "sub sp, sp, #0x4c"},
        {0xe31d0004, "tst sp, #4"},
        {0x024dd004, "subeq sp, sp, #4"},
        {0xe88d1ffe, "stm sp, {r1, r2, r3, r4, r5, r6, r7, r8, r9, sl, fp, ip}"},
        {0xe8900038, "ldm r0, {r3, r4, r5}"},
        {0xe28d7030, "add r7, sp, #0x30"},
        {0xe3e06000, "mvn r6, #0"},
        {0xe28d204c, "add r2, sp, #0x4c"},
        {0x02822004, "addeq r2, r2, #4"},
        {0xe52d3004, "str r3, [sp, #-4]!"},
        {0xe1a0300e, "mov r3, lr"},
        {0xe887007c, "stm r7, {r2, r3, r4, r5, r6}"},
        {0xe1a096ad, "lsr r9, sp, #0xd"},
        {0xe1a09689, "lsl r9, r9, #0xd"},
        {0xe5990008, "ldr r0, [r9, #8]"},
        {0xe3a0147f, "mov r1, #0x7f000000"},
        {0xe5891008, "str r1, [r9, #8]"},
        {0xe58d004c, "str r0, [sp, #0x4c]"},
        {0, "bl trace_hardirqs_off"},
        {0, "ldr r1, =handle_arch_irq"},
        {0xe1a0000d, "mov r0, sp"},
        {0xe28fe000, "add lr, pc, #0"},
        {0xe591f000, "ldr pc, [r1]"},
    };
    csh cs;
    ASSERT_EQ(cs_open(CS_ARCH_ARM, CS_MODE_ARM, &cs), CS_ERR_OK);
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    uint32_t pc = vector_page_symbol("__irq_svc");
    for (const auto& e : expected) {
        SCOPED_TRACE(e.text);
        uint32_t word = page_word(pc);
        uint8_t bytes[4] = {uint8_t(word), uint8_t(word >> 8), uint8_t(word >> 16),
                            uint8_t(word >> 24)};
        cs_insn* insn = nullptr;
        ASSERT_EQ(cs_disasm(cs, bytes, 4, pc, 1, &insn), 1u);
        std::string text = std::string(insn->mnemonic) + " " + insn->op_str;
        // Capstone calls r9 "sb"; the listing (objdump) says r9 and sl/fp/ip.
        for (size_t at; (at = text.find("sb")) != std::string::npos;)
            text.replace(at, 2, "r9");
        std::string want = e.text;
        if (want == "bl trace_hardirqs_off") {
            // bl <trace_hardirqs_off>: the target is the page's own function.
            EXPECT_EQ(std::string(insn->mnemonic), "bl");
            EXPECT_EQ(uint32_t(insn->detail->arm.operands[0].imm),
                      vector_page_symbol("trace_hardirqs_off"));
        } else if (want == "ldr r1, =handle_arch_irq") {
            // ldr r1, [pc, #N]: its literal is the address of handle_arch_irq.
            EXPECT_EQ(word & 0xfffff000u, 0xe59f1000u) << text;
            EXPECT_EQ(page_word(pc + 8 + (word & 0xfff)), vector_page_symbol("handle_arch_irq"));
        } else {
            EXPECT_EQ(word, e.word) << text;
            EXPECT_EQ(text, want);
        }
        cs_free(insn, 1);
        pc += 4;
    }
    // add lr, pc, #0 made lr the instruction after ldr pc, [r1]: where the handler
    // returns (the listing's 807a2a7c).
    cs_close(&cs);
}

// handle_arch_irq points at bcm2836_arm_irqchip_handle_irq once the model booted
// (set_handle_irq), read from the mapped page as the guest reads it.
TEST(EntryPath, HandleArchIrqIsTheBcm2836Driver) {
    MachineOptions o;
    o.uart = "none";
    o.kernel_model = true;
    auto m = Machine::create(o);
    ASSERT_FALSE(m.is_error()) << m.error().message;
    uint32_t v = 0;
    ASSERT_TRUE(m.value()->bus().read32(vector_page_symbol("handle_arch_irq"), v));
    EXPECT_EQ(v, vector_page_symbol("bcm2836_arm_irqchip_handle_irq"));
    EXPECT_EQ(vector_page_symbolize(v + 0), "bcm2836_arm_irqchip_handle_irq+0x0/0x4");
    // The high vectors: SCTLR.V set on the core.
    EXPECT_TRUE(m.value()->core().sctlr() & (1u << 13));
}

// %pS for every word of the page, against the rule read plainly: of the symbols that
// cover the address (a label up to the next higher address), the one with the highest
// address; at one address a function before a label, then the table's first.
TEST(EntryPath, EveryVectorPageAddressSymbolizesByTheRule) {
    auto syms = vector_page_symbols();
    const uint32_t end = PIEMU_KM_VECTORS + PIEMU_KM_VECTORS_SIZE;
    auto extent = [&](size_t i) {
        if (syms[i].size)
            return syms[i].size;
        for (size_t j = i + 1; j < syms.size(); ++j)
            if (syms[j].addr != syms[i].addr)
                return syms[j].addr - syms[i].addr;
        return end - syms[i].addr;
    };
    unsigned labelled = 0;
    for (uint32_t addr = PIEMU_KM_VECTORS; addr < end; addr += 4) {
        std::optional<size_t> best;
        for (size_t i = 0; i < syms.size(); ++i) {
            if (syms[i].addr > addr || addr - syms[i].addr >= extent(i))
                continue;
            if (!best || syms[i].addr > syms[*best].addr ||
                (syms[i].addr == syms[*best].addr && syms[i].size && !syms[*best].size))
                best = i;
        }
        std::optional<std::string> want;
        if (best) {
            want = fmt::format("{}+0x{:x}/0x{:x}", syms[*best].name, addr - syms[*best].addr,
                               extent(*best));
            ++labelled;
        }
        ASSERT_EQ(vector_page_symbolize(addr), want) << std::hex << addr;
    }
    EXPECT_GT(labelled, 100u);
    EXPECT_EQ(vector_page_symbolize(PIEMU_KM_VECTORS - 4), std::nullopt);
    EXPECT_EQ(vector_page_symbolize(end), std::nullopt);
}

#ifdef PIEMU_TEST_FIRMWARE_DIR

namespace {

struct Frame {
    unsigned calls = 0;
    uint32_t addr = 0;
    uint32_t uregs[18] = {};
    uint32_t addr_limit_slot = 0;
    uint32_t preempt = 0;
    uint32_t ti = 0;
};

// Runs km_ptregs with a built-in handler on the system timer's match 1 (irq 31) that
// captures the pt_regs frame of the first interrupt, 1 ms into the run.
Frame run_ptregs(bool usr_mode, uint32_t* svc_sp, const LoadedImage** image) {
    MachineOptions o;
    o.uart = "none";
    o.kernel_model = true;
    o.duration_ns = 3'000'000;
    auto made = Machine::create(o);
    EXPECT_FALSE(made.is_error());
    static std::unique_ptr<Machine> m; // kept for `image`
    m = made.release_value();
    auto loaded = m->load(PIEMU_TEST_FIRMWARE_DIR "/km_ptregs.elf", std::nullopt);
    EXPECT_FALSE(loaded.is_error()) << (loaded.is_error() ? loaded.error().message : "");
    const LoadedImage& img = m->image();
    *image = &img;
    uint32_t usr_flag = img.find_symbol("usr_mode")->addr;
    uint32_t one = usr_mode ? 1 : 0;
    m->bus().write_phys(usr_flag, {reinterpret_cast<const uint8_t*>(&one), 4});

    Frame f;
    KernelModel& km = *m->kernel_model();
    Machine* mp = m.get();
    int rc = km.irq().request_irq(
        31,
        irq_handler_t("ptregs_test_irq",
                      [&f, &km, mp](unsigned, void*) -> Task<irqreturn_t> {
                          mp->bus().mmio_write(0x3f003000, 1u << 1, 4); // CS: clear M1
                          if (f.calls++)
                              co_return IRQ_HANDLED;
                          f.addr = km.irq().get_irq_regs()->addr;
                          for (unsigned i = 0; i < 18; ++i)
                              mp->bus().read32(f.addr + 4 * i, f.uregs[i]);
                          mp->bus().read32(f.addr + SVC_ADDR_LIMIT, f.addr_limit_slot);
                          f.preempt = km.irq().preempt_count();
                          f.ti = km.current(0)->stack;
                          co_return IRQ_HANDLED;
                      }),
        0, "ptregs", &f);
    EXPECT_EQ(rc, 0);
    uint32_t clo = m->bus().mmio_read(0x3f003004, 4);
    m->bus().mmio_write(0x3f003010, clo + 1000, 4);
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::Duration) << r.message;
    m->bus().read32(img.find_symbol("svc_sp_at_loop")->addr, *svc_sp);
    return f;
}

} // namespace

// An IRQ in a known SVC-mode loop: __irq_svc's frame holds every register of the loop,
// sp as it was, pc = the loop, the interrupted CPSR and orig_r0 = -1, 8-byte aligned
// below the interrupted sp; the old addr_limit (KERNEL_DS for init) above it.
TEST(EntryPath, PtRegsOfAnIrqTakenInSvcMode) {
    uint32_t svc_sp = 0;
    const LoadedImage* img = nullptr;
    Frame f = run_ptregs(false, &svc_sp, &img);
    ASSERT_EQ(f.calls, 1u);
    for (unsigned i = 0; i <= 12; ++i)
        EXPECT_EQ(f.uregs[i], 0xa0u + i) << "r" << i;
    EXPECT_EQ(f.uregs[13], svc_sp) << "sp";
    EXPECT_EQ(f.uregs[14], 0xaeu) << "lr";
    EXPECT_EQ(f.uregs[15], img->find_symbol("ptregs_loop")->addr) << "pc";
    // SVC mode, IRQs and FIQs enabled (as init starts), Z and C from the loop.
    EXPECT_EQ(f.uregs[16], 0x60000013u) << "cpsr";
    EXPECT_EQ(f.uregs[17], 0xffffffffu) << "orig_r0";
    // svc_entry: sub 76, 8-byte alignment, then the r0 push: 80 bytes (or 84).
    EXPECT_EQ(f.addr % 8, 0u);
    EXPECT_TRUE(f.addr == svc_sp - 80 || f.addr == svc_sp - 84) << std::hex << f.addr;
    EXPECT_EQ(f.addr_limit_slot, uint32_t(KERNEL_DS));
    // On init's own kernel stack, in hard irq context.
    EXPECT_EQ(f.addr & ~uint32_t(THREAD_SIZE - 1), f.ti);
    EXPECT_EQ(f.preempt, 0x00010000u);
}

// From USR mode the frame goes through __irq_usr: at the top of sp_svc, with the user
// bank's sp and lr (STM ^) and a USR-mode cpsr.
TEST(EntryPath, PtRegsOfAnIrqTakenInUsrModeGoThroughIrqUsr) {
    uint32_t svc_sp = 0;
    const LoadedImage* img = nullptr;
    Frame f = run_ptregs(true, &svc_sp, &img);
    ASSERT_EQ(f.calls, 1u);
    for (unsigned i = 0; i <= 12; ++i)
        EXPECT_EQ(f.uregs[i], 0xa0u + i) << "r" << i;
    uint32_t usr_stack = img->find_symbol("usr_stack")->addr;
    EXPECT_EQ(f.uregs[13], usr_stack + 256 * 4) << "user sp";
    EXPECT_EQ(f.uregs[14], 0xaeu) << "user lr";
    EXPECT_EQ(f.uregs[15], img->find_symbol("ptregs_loop")->addr) << "pc";
    EXPECT_EQ(f.uregs[16], 0x60000010u) << "cpsr: USR, IRQs and FIQs on";
    EXPECT_EQ(f.uregs[17], 0xffffffffu) << "orig_r0";
    EXPECT_EQ(f.addr, svc_sp - PT_REGS_SIZE) << "usr_entry: sub sp, sp, #PT_REGS_SIZE";
    EXPECT_EQ(f.preempt, 0x00010000u);
}

#endif // PIEMU_TEST_FIRMWARE_DIR
