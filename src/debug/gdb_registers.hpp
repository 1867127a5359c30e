// The registers gdb sees: the target description piemu sends (qXfer target.xml) and
// the "g" packet layout that follows from it.
//
// Register numbers are the description's: r0-r12, sp, lr, pc = 0-15, cpsr = 25 (as
// in gdb's own arm-core.xml, where 16-24 once were the FPA registers), d0-d31 =
// 26-57, fpscr = 58. The "g" packet holds them in that order without gaps. VFP is
// always described: the description is read once per connection, and a guest that
// enables VFP later (CPACR, FPEXC.EN) would otherwise never show it; the Cortex-A7
// has VFPv4-D32, and the registers read as Unicorn holds them whether or not the
// guest has enabled them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace piemu {
class ArmCore;
}

namespace piemu::gdb {

inline constexpr unsigned kRegPc = 15;
inline constexpr unsigned kRegCpsr = 25;
inline constexpr unsigned kRegD0 = 26;
inline constexpr unsigned kRegFpscr = 58;

/// target.xml: the description gdb reads with qXfer:features:read.
const std::string& target_xml();

/// One register in the "p" format (little-endian hex); nullopt for an unknown number.
std::optional<std::string> read_register(ArmCore& core, unsigned regno);
/// "P": false for an unknown number or a value of the wrong width.
bool write_register(ArmCore& core, unsigned regno, std::string_view hex);
/// "g": every register in order.
std::string read_registers(ArmCore& core);
/// "G": the whole "g" layout, or just its core part (r0-pc, cpsr). CPSR is written
/// first, so that r13/r14 land in the banked registers of the mode it selects.
bool write_registers(ArmCore& core, std::string_view hex);

} // namespace piemu::gdb
