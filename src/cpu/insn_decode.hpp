// Decoding a load/store to find the address it accesses: Unicorn's TLB-fill hook
// sees only the 1 KiB page of a faulting access, and its TCG alignment faults carry
// no address at all, so DFAR is computed from the instruction and the registers.
#pragma once

#include <cstdint>

namespace piemu {

class ArmCore;

struct MemAccessInfo {
    bool valid = false;   ///< the instruction is a load/store we understood
    bool write = false;   ///< it writes memory
    uint32_t address = 0; ///< the lowest address it accesses
    uint32_t length = 0;  ///< bytes accessed from `address`
    /// Alignment the access needs when SCTLR.A is set (ARM ARM A3.2.1): 1 for
    /// bytes, 2 for halfwords, 4 for words and for LDRD/STRD, LDM/STM and friends,
    /// 8 for LDREXD/STREXD.
    uint32_t align = 1;
    /// Condition field, or 0xe (always) when unconditional.
    unsigned cond = 0xe;
};

/// True when condition `cond` (ARM encoding) passes for the flags in `cpsr`.
bool condition_passed(unsigned cond, uint32_t cpsr);

/// ITSTATE from the CPSR (IT[7:2] in bits 15:10, IT[1:0] in bits 26:25).
inline uint32_t itstate(uint32_t cpsr) {
    return ((cpsr >> 8) & 0xfc) | ((cpsr >> 25) & 3);
}
inline bool in_it_block(uint32_t cpsr) {
    return (itstate(cpsr) & 0xf) != 0;
}
/// The condition an instruction executes under: its cond field in ARM state, the
/// IT block's in Thumb state (AL outside IT blocks).
inline unsigned insn_condition(uint32_t insn, bool thumb, uint32_t cpsr) {
    if (thumb)
        return in_it_block(cpsr) ? itstate(cpsr) >> 4 : 0xe;
    return insn >> 28;
}
/// The CPSR after one instruction of an IT block (ARM ARM A2.5.2, ITAdvance).
inline uint32_t it_advance(uint32_t cpsr) {
    uint32_t it = itstate(cpsr);
    it = (it & 7) == 0 ? 0 : (it & 0xe0) | ((it << 1) & 0x1f);
    return (cpsr & ~((3u << 25) | (0x3fu << 10))) | ((it & 0xfc) << 8) | ((it & 3) << 25);
}

/// The hint instructions piemu watches: YIELD (1), WFE (2), SEV (4) are their
/// numbers in the hint space (ARM ARM A8.8.425-, NOP-compatible hints).
enum class Hint { None = 0, Yield = 1, Wfe = 2, Sev = 4 };
/// Which of YIELD, WFE, SEV `insn` is (ARM A1 any condition, Thumb T1 and T2), as
/// fetch_insn() returns it.
inline Hint watched_hint(uint32_t insn, unsigned size, bool thumb) {
    uint32_t op;
    if (!thumb) {
        if ((insn & 0x0fffff00) != 0x0320f000 || (insn >> 28) == 0xf)
            return Hint::None;
        op = insn & 0xff;
    } else if (size == 2) {
        if ((insn & 0xff0f) != 0xbf00) // IT has a non-zero mask in bits 3:0
            return Hint::None;
        op = (insn >> 4) & 0xf;
    } else {
        if ((insn & 0xffffff00) != 0xf3af8000)
            return Hint::None;
        op = insn & 0xff;
    }
    return (op == 1 || op == 2 || op == 4) ? Hint(op) : Hint::None;
}

/// Decodes the instruction at `pc` (ARM or Thumb) with Capstone and computes the
/// lowest address it accesses from the core's current registers (PC reads as the
/// architecture defines: +8 in ARM state, Align(PC, 4) + 4 in Thumb state).
MemAccessInfo decode_mem_access(const ArmCore& core, uint32_t pc, bool thumb);

/// True for the exception-return instructions of ARMv7 (ARM ARM B9.1): SUBS PC, LR
/// and the other data-processing forms with S and Rd = PC, LDM with ^ and PC in the
/// list, RFE, ERET; in Thumb SUBS PC, LR, #imm (ERET) and RFE. `insn` as
/// fetch_insn() returns it (a 32-bit Thumb instruction's first halfword high).
bool is_exception_return(uint32_t insn, unsigned size, bool thumb);

} // namespace piemu
