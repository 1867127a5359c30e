// Decoding a load/store to find the address it accesses: Unicorn's TLB-fill hook
// sees only the 1 KiB page of a faulting access, and its TCG alignment faults carry
// no address at all, so DFAR is computed from the instruction and the registers.
#pragma once

#include <cstdint>

namespace piemu {

class ArmCore;

struct MemAccessInfo {
    bool valid = false;  ///< the instruction is a load/store we understood
    bool write = false;  ///< it writes memory
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

/// Decodes the instruction at `pc` (ARM or Thumb) with Capstone and computes the
/// lowest address it accesses from the core's current registers (PC reads as the
/// architecture defines: +8 in ARM state, Align(PC, 4) + 4 in Thumb state).
MemAccessInfo decode_mem_access(const ArmCore& core, uint32_t pc, bool thumb);

} // namespace piemu
