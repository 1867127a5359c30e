// cp15 state that piemu must see but Unicorn keeps to itself.
//
//  - HCR.TVM trapped writes: ArmCore::init sets HCR.TVM, so a guest write to SCTLR or
//    another MMU control register (ARM ARM B1.14.13) traps as an undefined instruction
//    with PC at the MCR/MCRR. classify_invalid hands it to emulate_trapped_write, which
//    performs the write through set_cp15 and steps past the instruction.
//  - HCR.TTLB trapped TLB maintenance operations (MCR p15, 0, Rt, c8, CRm, opc2):
//    Unicorn caches translations per 1 KiB page (its TARGET_PAGE_SIZE; piemu's
//    tlb_fill answers for one such page), and QEMU's TLBIMVA and friends drop only the
//    1 KiB page at the given address, while the guest's entry covers a 4 KiB page, a
//    64 KiB page or a 1 MiB section. So every TLB operation drops this core's whole
//    TLB (a superset of what the guest asked for, which the architecture allows); an
//    Inner Shareable one (CRm = 3) also makes the machine drop every other core's
//    (take_tlb_broadcast). Without this, Linux's patch_text(), which maps each text
//    page it patches at the same fixmap address in turn, wrote through stale entries
//    into the first page it had patched.
//  - SCTLR.A alignment checking: Unicorn 2.1's TCG checks only LDREX/STREX, so while
//    SCTLR.A is set a UC_HOOK_CODE (align_check) decodes every load/store before it
//    executes and raises an exact alignment fault. set_cp15 on SCTLR calls
//    sync_alignment_checking, which installs or removes the hook.
#include <unicorn/unicorn.h>

#include "cpu/insn_decode.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"

namespace piemu {

namespace {
// The registers HCR.TVM traps (ARM ARM B1.14.13): (CRn, opc1, CRm, opc2).
bool tvm_trapped(unsigned crn, unsigned opc1, unsigned crm, unsigned opc2) {
    if (opc1 != 0)
        return false;
    switch (crn) {
    case 1:
        return crm == 0 && opc2 == 0; // SCTLR
    case 2:
        return crm == 0 && opc2 <= 2; // TTBR0, TTBR1, TTBCR
    case 3:
        return crm == 0 && opc2 == 0; // DACR
    case 5:
        return crm <= 1 && opc2 <= 1; // DFSR IFSR ADFSR AIFSR
    case 6:
        return crm == 0 && (opc2 == 0 || opc2 == 2); // DFAR, IFAR
    case 10:
        return (crm == 2 || crm == 3) && opc2 <= 1; // PRRR NMRR AMAIR0/1
    case 13:
        return crm == 0 && opc2 == 1; // CONTEXTIDR
    default:
        return false;
    }
}

} // namespace

bool ArmCore::emulate_trapped_write(uint32_t pc, bool thumb, uint32_t insn, unsigned size) {
    if (size != 4 || ((insn >> 8) & 0xf) != 15 || mode() == uint32_t(CpuMode::Usr))
        return false;
    uint32_t cpsr_v = cpsr();
    unsigned cond = insn_condition(insn, thumb, cpsr_v);
    bool mcr = ((insn >> 24) & 0xf) == 0xe && !(insn & (1u << 20)) && (insn & (1u << 4));
    bool mcrr = ((insn >> 20) & 0xff) == 0xc4;
    if (mcr) {
        unsigned opc1 = (insn >> 21) & 7, crn = (insn >> 16) & 15, rt = (insn >> 12) & 15;
        unsigned opc2 = (insn >> 5) & 7, crm = insn & 15;
        if (crn == 8 && opc1 == 0 && crm >= 3 && crm <= 7 && crm != 4) {
            // TLB maintenance (ARM ARM, "TLB maintenance operations"): CRm 3 = Inner Shareable,
            // 5 = instruction, 6 = data, 7 = unified. Its operand does not matter here.
            if (condition_passed(cond, cpsr_v) && crm == 3)
                tlb_broadcast_ = true;
        } else if (!tvm_trapped(crn, opc1, crm, opc2) || rt == 15) {
            return false;
        } else if (condition_passed(cond, cpsr_v)) {
            set_cp15(crn, opc1, crm, opc2, reg(rt));
        }
    } else if (mcrr) {
        // MCRR p15, opc1, Rt, Rt2, c2: the 64-bit TTBR0 (opc1 0) / TTBR1 (opc1 1).
        unsigned opc1 = (insn >> 4) & 15, crm = insn & 15;
        unsigned rt = (insn >> 12) & 15, rt2 = (insn >> 16) & 15;
        if (crm != 2 || opc1 > 1 || rt == 15 || rt2 == 15)
            return false;
        if (condition_passed(cond, cpsr_v)) {
            uc_arm_cp_reg r{};
            r.cp = 15;
            r.is64 = 1;
            r.opc1 = opc1;
            r.crm = crm;
            r.val = (uint64_t(reg(rt2)) << 32) | reg(rt);
            uc_reg_write(uc_, UC_ARM_REG_CP_REG, &r);
            mmu_regs_valid_ = false;
        }
    } else {
        return false;
    }
    if (thumb && in_it_block(cpsr_v))
        set_cpsr(it_advance(cpsr_v));
    // Translation state may have changed: drop Unicorn's cached translations.
    uc_ctl_flush_tlb(uc_);
    set_pc(pc + size, thumb);
    return true;
}

void ArmCore::sync_alignment_checking() {
    bool want = sctlr() & (1u << 1); // SCTLR.A
    if (want == (align_hook_ != 0))
        return;
    if (want) {
        uc_hook h = 0;
        uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(align_check), this, 1, 0);
        align_hook_ = h;
    } else {
        uc_hook_del(uc_, align_hook_);
        align_hook_ = 0;
    }
    // Code translated earlier has no call to the new hook: drop it.
    drop_translations();
}

// Installed only while SCTLR.A is set: faults a misaligned load/store before it
// executes (stopping in a code hook skips the instruction).
void ArmCore::align_check(uc_engine* uc, uint64_t addr, uint32_t, void* ud) {
    auto* c = static_cast<ArmCore*>(ud);
    if (c->stopped_by_hook_)
        return;
    uint32_t cpsr = c->cpsr();
    bool thumb = cpsr & psr::T;
    MemAccessInfo m = decode_mem_access(*c, uint32_t(addr), thumb);
    if (!m.valid || (m.address & (m.align - 1)) == 0)
        return;
    unsigned cond = (thumb && in_it_block(cpsr)) ? insn_condition(0, true, cpsr) : m.cond;
    if (!condition_passed(cond, cpsr))
        return;
    StopInfo s;
    s.reason = StopReason::DataAbort;
    s.pc = uint32_t(addr);
    s.thumb = thumb;
    c->fetch_insn(s.pc, thumb, s.insn, s.insn_size);
    s.far = m.address;
    s.fsr = fsc::Alignment | (m.write ? fsc::WnR : 0);
    c->stop_ = s;
    c->stopped_by_hook_ = true;
    uc_emu_stop(uc);
}

} // namespace piemu
