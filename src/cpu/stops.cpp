// What Unicorn's ways of stopping mean for the guest: an invalid-instruction stop is
// an undefined instruction, a WFE/YIELD (Unicorn implements neither and stops past
// them), a cp15 write HCR.TVM trapped, or a generic-timer access CNTHCTL trapped;
// a TCG data abort is an alignment fault whose address comes from the instruction.
#include "cpu/insn_decode.hpp"
#include "piemu/arm_core.hpp"

namespace piemu {

StopInfo ArmCore::classify_invalid(uint32_t pc) {
    // Unicorn reports an undefined instruction with PC at it, but WFE and YIELD
    // (which it does not implement) with PC already past them.
    StopInfo s;
    s.thumb = thumb();
    // A WFE or YIELD whose hook ran just before (multicore.cpp): known for sure, even
    // where the run started right after it (a WFE loop resumed after its WFE).
    bool wfe = false;
    uint32_t at = 0;
    if (hinted_stop(pc, wfe, at)) {
        s.reason = wfe ? StopReason::Wfe : StopReason::Yield;
        s.pc = at;
        fetch_insn(at, s.thumb, s.insn, s.insn_size);
        return s;
    }
    // A write HCR.TVM trapped first: should a WFE precede it, that WFE completes
    // at once, which the architecture allows.
    if (fetch_insn(pc, s.thumb, s.insn, s.insn_size)) {
        if (emulate_trapped_write(pc, s.thumb, s.insn, s.insn_size)) {
            s.reason = StopReason::Yield;
            s.pc = pc;
            return s;
        }
        // A physical counter/timer access trapped through CNTHCTL before its hook
        // was in place.
        C14Result r = emulate_c14(pc, s.thumb, s.insn, s.insn_size);
        if (r == C14Result::Done) {
            s.reason = StopReason::Yield;
            s.pc = pc;
            return s;
        }
        if (r == C14Result::Undefined) {
            s.reason = StopReason::Undefined;
            s.pc = pc;
            return s;
        }
    }
    // Code translated before its hint hook existed: the instruction before PC (which
    // cannot be it when PC is where the run started: an undefined instruction at PC).
    if (pc != run_start_pc_) {
        uint32_t prev;
        unsigned sz;
        for (unsigned back : {2u, 4u}) {
            if (back == 2 && !s.thumb)
                continue;
            if (!fetch_insn(pc - back, s.thumb, prev, sz) || sz != back)
                continue;
            bool wfe = s.thumb ? (prev == 0xbf20 || prev == 0xf3af8002)
                               : ((prev & 0x0fffffff) == 0x0320f002);
            bool yield = s.thumb ? (prev == 0xbf10 || prev == 0xf3af8001)
                                 : ((prev & 0x0fffffff) == 0x0320f001);
            if (wfe || yield) {
                s.reason = wfe ? StopReason::Wfe : StopReason::Yield;
                s.pc = pc - back;
                s.insn = prev;
                s.insn_size = back;
                return s;
            }
        }
    }
    s.reason = StopReason::Undefined;
    s.pc = pc;
    fetch_insn(pc, s.thumb, s.insn, s.insn_size);
    return s;
}

StopInfo ArmCore::data_abort_from_insn(uint32_t pc) {
    StopInfo s;
    s.reason = StopReason::DataAbort;
    s.pc = pc;
    s.thumb = thumb();
    fetch_insn(pc, s.thumb, s.insn, s.insn_size);
    MemAccessInfo m = decode_mem_access(*this, pc, s.thumb);
    s.far = m.valid ? m.address : 0;
    s.fsr = fsc::Alignment | (m.write ? fsc::WnR : 0);
    return s;
}

} // namespace piemu
