// Interception of cp15 c14 (generic timer) accesses.
//
// Unicorn implements c14 itself, wrongly for piemu (host time, dropped writes), and
// has no coprocessor hook for AArch32. Two mechanisms together catch every access:
//  - CNTHCTL is 0 in Unicorn's state, so PL1/PL0 accesses to the physical counter
//    and timer trap as undefined instructions (classify_invalid emulates them);
//  - every translation block is scanned the first time the block hook sees it; each
//    c14 instruction found gets a UC_HOOK_CODE bounded to its address, whose
//    callback emulates the access and steps past the instruction. The block stops
//    before running, its translation is dropped, and the retranslation carries the
//    hook. This covers code loaded or modified at run time, since rewritten code
//    is retranslated and rescanned.
// Known limitation: a c14 access inside a Thumb IT block. Unicorn's Thumb translator
// neither syncs the IT state before a code hook nor honours a PC write from it, so
// such an access cannot be emulated exactly; the scan warns once per address.
#include <spdlog/spdlog.h>
#include <unicorn/unicorn.h>

#include "cpu/insn_decode.hpp"
#include "piemu/arm_core.hpp"

namespace piemu {

namespace {

/// Decodes MRC/MCR/MRRC/MCRR to cp15 with CRn (or, for the 64-bit forms, CRm) 14.
bool decode_c14(uint32_t insn, unsigned size, CpAccess& a) {
    if (size != 4 || (insn >> 28) == 0xf || ((insn >> 8) & 0xf) != 15)
        return false;
    if (((insn >> 24) & 0xf) == 0xe && (insn & (1u << 4))) { // MRC/MCR
        a.is64 = false;
        a.read = insn & (1u << 20);
        a.opc1 = (insn >> 21) & 7;
        a.crn = (insn >> 16) & 15;
        a.rt = (insn >> 12) & 15;
        a.opc2 = (insn >> 5) & 7;
        a.crm = insn & 15;
        return a.crn == 14;
    }
    if (((insn >> 21) & 0x7f) == 0x62) { // MRRC/MCRR: 1100 010L
        a.is64 = true;
        a.read = insn & (1u << 20);
        a.rt2 = (insn >> 16) & 15;
        a.rt = (insn >> 12) & 15;
        a.opc1 = (insn >> 4) & 15;
        a.crm = insn & 15;
        return a.crm == 14;
    }
    return false;
}

} // namespace

ArmCore::C14Result ArmCore::emulate_c14(uint32_t pc, bool thumb, uint32_t insn, unsigned size,
                                        bool in_hook) {
    CpAccess a;
    if (!decode_c14(insn, size, a))
        return C14Result::NotC14;
    uint32_t cpsr_v = cpsr();
    unsigned cond = insn_condition(insn, thumb, cpsr_v);
    if (condition_passed(cond, cpsr_v)) {
        uint64_t value = 0;
        if (!a.read) {
            if (a.rt == 15 || (a.is64 && a.rt2 == 15))
                return C14Result::Undefined;
            value = reg(a.rt);
            if (a.is64)
                value |= uint64_t(reg(a.rt2)) << 32;
        } else if (a.is64 && (a.rt == 15 || a.rt2 == 15 || a.rt == a.rt2)) {
            return C14Result::Undefined;
        }
        if (timer_.access(a, cpsr_v & psr::M, value) == GenericTimer::Result::Undefined)
            return C14Result::Undefined;
        if (a.read) {
            if (a.is64) {
                set_reg(a.rt, uint32_t(value));
                set_reg(a.rt2, uint32_t(value >> 32));
            } else if (a.rt == 15) { // MRC to APSR_nzcv
                cpsr_v = (cpsr_v & 0x0fffffffu) | (uint32_t(value) & 0xf0000000u);
                set_cpsr(cpsr_v);
            } else {
                set_reg(a.rt, uint32_t(value));
            }
        }
    }
    if (!in_hook && thumb && in_it_block(cpsr_v))
        set_cpsr(it_advance(cpsr_v));
    // From a hook, writing PC makes Unicorn abandon the instruction and go on there.
    set_pc(pc + size, thumb);
    return C14Result::Done;
}

// Before a c14 instruction executes: emulate it on the GenericTimer.
void ArmCore::c14_hook(uc_engine* uc, uint64_t addr, uint32_t, void* ud) {
    auto* c = static_cast<ArmCore*>(ud);
    if (c->stopped_by_hook_)
        return;
    bool thumb = c->thumb();
    uint32_t insn;
    unsigned size;
    if (!c->fetch_insn(uint32_t(addr), thumb, insn, size))
        return;
    switch (c->emulate_c14(uint32_t(addr), thumb, insn, size, true)) {
    case ArmCore::C14Result::NotC14:
        return; // the code at this address changed
    case ArmCore::C14Result::Done:
        return; // PC moved past it
    case ArmCore::C14Result::Undefined: {
        StopInfo s;
        s.reason = StopReason::Undefined;
        s.pc = uint32_t(addr);
        s.thumb = thumb;
        s.insn = insn;
        s.insn_size = size;
        c->stop_ = s;
        c->stopped_by_hook_ = true;
        uc_emu_stop(uc);
        return;
    }
    }
}

void ArmCore::scan_block_for_c14(uint32_t addr, uint32_t size, bool thumb) {
    uint32_t it = 0; // ITSTATE as the scan walks Thumb code (0 outside IT blocks)
    for (uint32_t off = 0; off < size;) {
        uint32_t insn;
        unsigned sz;
        if (!fetch_insn(addr + off, thumb, insn, sz))
            return;
        bool in_it = (it & 0xf) != 0;
        uint32_t next_it = in_it ? ((it & 7) == 0 ? 0 : (it & 0xe0) | ((it << 1) & 0x1f)) : 0;
        CpAccess a;
        if (decode_c14(insn, sz, a)) {
            if (!c14_hooks_.count(addr + off))
                pending_c14_.push_back(addr + off);
            ReportOnce::Verdict v =
                thumb && in_it ? warned_it_c14_.note(addr + off) : ReportOnce::Verdict::Repeat;
            if (v == ReportOnce::Verdict::First)
                spdlog::warn("cpu{}: generic timer access at 0x{:08x} inside a Thumb IT block: "
                             "not supported by piemu's interception (its result and the IT "
                             "state after it are unreliable)",
                             index_, addr + off);
            else if (v == ReportOnce::Verdict::Last)
                spdlog::warn("cpu{}: {} generic timer accesses inside Thumb IT blocks reported; "
                             "no more are",
                             index_, ReportOnce::kLimit);
        }
        if (watched_hint(insn, sz, thumb) != Hint::None && !hint_hooks_.count(addr + off))
            pending_hints_.push_back(addr + off); // multicore.cpp
        // IT instruction: 0xbfXY with a non-zero mask Y starts a block.
        it = (thumb && sz == 2 && (insn & 0xff00) == 0xbf00 && (insn & 0xf)) ? (insn & 0xff)
                                                                             : next_it;
        off += sz;
    }
}

namespace {
/// A UC_HOOK_CODE bounded to each address in `pending` that has none in `hooks` yet,
/// then `pending` emptied.
void install_address_hooks(uc_engine* uc, std::vector<uint32_t>& pending,
                           std::unordered_map<uint32_t, size_t>& hooks, void* callback,
                           void* user_data) {
    for (uint32_t addr : pending) {
        if (hooks.count(addr))
            continue;
        uc_hook h = 0;
        uc_hook_add(uc, &h, UC_HOOK_CODE, callback, user_data, addr, addr);
        hooks.emplace(addr, h);
        // Drop the translation that lacks the hook (a block may cover the address
        // under several start addresses: drop the whole page's worth around it).
        uc_ctl_remove_cache(uc, addr & ~0x3ffu, (addr & ~0x3ffu) + 0x400);
    }
    pending.clear();
}
} // namespace

void ArmCore::install_pending_hooks() {
    install_address_hooks(uc_, pending_c14_, c14_hooks_, reinterpret_cast<void*>(c14_hook), this);
    install_address_hooks(uc_, pending_hints_, hint_hooks_, reinterpret_cast<void*>(hint_hook),
                          this);
}

} // namespace piemu
