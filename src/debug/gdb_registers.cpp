// The gdb register view of an ArmCore (see gdb_registers.hpp).
#include "debug/gdb_registers.hpp"

#include <unicorn/unicorn.h>

#include <fmt/format.h>

#include "debug/gdb_packet.hpp"
#include "piemu/arm_core.hpp"

namespace piemu::gdb {

namespace {

/// The registers in "g" order: number and width in bytes.
struct RegSlot {
    unsigned regno;
    unsigned bytes;
};

constexpr unsigned kCoreRegs = 17; ///< r0-pc and cpsr: the first 17 slots

std::vector<RegSlot> g_layout() {
    std::vector<RegSlot> v;
    for (unsigned r = 0; r <= kRegPc; ++r)
        v.push_back({r, 4});
    v.push_back({kRegCpsr, 4});
    for (unsigned d = 0; d < 32; ++d)
        v.push_back({kRegD0 + d, 8});
    v.push_back({kRegFpscr, 4});
    return v;
}

const std::vector<RegSlot>& layout() {
    static const std::vector<RegSlot> l = g_layout();
    return l;
}

std::string build_target_xml() {
    std::string x = "<?xml version=\"1.0\"?>\n"
                    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
                    "<target version=\"1.0\">\n"
                    "  <architecture>arm</architecture>\n"
                    "  <feature name=\"org.gnu.gdb.arm.core\">\n";
    for (unsigned r = 0; r <= 12; ++r)
        x += fmt::format("    <reg name=\"r{}\" bitsize=\"32\"/>\n", r);
    x += "    <reg name=\"sp\" bitsize=\"32\" type=\"data_ptr\"/>\n"
         "    <reg name=\"lr\" bitsize=\"32\"/>\n"
         "    <reg name=\"pc\" bitsize=\"32\" type=\"code_ptr\"/>\n"
         "    <reg name=\"cpsr\" bitsize=\"32\" regnum=\"25\"/>\n"
         "  </feature>\n"
         "  <feature name=\"org.gnu.gdb.arm.vfp\">\n";
    for (unsigned d = 0; d < 32; ++d)
        x += fmt::format("    <reg name=\"d{}\" bitsize=\"64\" type=\"ieee_double\"{}/>\n", d,
                         d == 0 ? " regnum=\"26\"" : "");
    x += "    <reg name=\"fpscr\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
         "  </feature>\n"
         "</target>\n";
    return x;
}

uint64_t get(ArmCore& core, unsigned regno) {
    if (regno <= kRegPc)
        return core.reg(regno);
    if (regno == kRegCpsr)
        return core.cpsr();
    if (regno >= kRegD0 && regno < kRegD0 + 32) {
        uint64_t v = 0;
        uc_reg_read(core.uc(), UC_ARM_REG_D0 + int(regno - kRegD0), &v);
        return v;
    }
    uint32_t v = 0; // fpscr
    uc_reg_read(core.uc(), UC_ARM_REG_FPSCR, &v);
    return v;
}

void set(ArmCore& core, unsigned regno, uint64_t value) {
    if (regno <= kRegPc) {
        core.set_reg(regno, uint32_t(value)); // pc keeps the state CPSR.T says
    } else if (regno == kRegCpsr) {
        uint32_t pc = core.pc();
        core.set_cpsr(uint32_t(value));
        core.set_pc(pc, core.thumb()); // Unicorn takes the state from PC bit 0
    } else if (regno >= kRegD0 && regno < kRegD0 + 32) {
        uc_reg_write(core.uc(), UC_ARM_REG_D0 + int(regno - kRegD0), &value);
    } else {
        uint32_t v = uint32_t(value);
        uc_reg_write(core.uc(), UC_ARM_REG_FPSCR, &v);
    }
}

std::optional<unsigned> width(unsigned regno) {
    if (regno <= kRegPc || regno == kRegCpsr || regno == kRegFpscr)
        return 4;
    if (regno >= kRegD0 && regno < kRegD0 + 32)
        return 8;
    return std::nullopt;
}

} // namespace

const std::string& target_xml() {
    static const std::string x = build_target_xml();
    return x;
}

std::optional<std::string> read_register(ArmCore& core, unsigned regno) {
    auto w = width(regno);
    if (!w)
        return std::nullopt;
    return le_hex(get(core, regno), *w);
}

bool write_register(ArmCore& core, unsigned regno, std::string_view hex) {
    auto w = width(regno);
    if (!w)
        return false;
    auto v = parse_le_hex(hex, *w);
    if (!v)
        return false;
    set(core, regno, *v);
    return true;
}

std::string read_registers(ArmCore& core) {
    std::string out;
    for (const RegSlot& s : layout())
        out += le_hex(get(core, s.regno), s.bytes);
    return out;
}

bool write_registers(ArmCore& core, std::string_view hex) {
    // Parse everything before writing anything: a bad packet changes nothing.
    std::vector<std::pair<unsigned, uint64_t>> values;
    size_t pos = 0;
    for (const RegSlot& s : layout()) {
        if (pos == hex.size() && values.size() == kCoreRegs)
            break; // the core registers only
        auto v = parse_le_hex(hex.substr(pos, 2 * s.bytes), s.bytes);
        if (!v)
            return false;
        values.emplace_back(s.regno, *v);
        pos += 2 * s.bytes;
    }
    if (pos != hex.size())
        return false;
    set(core, kRegCpsr, values[kCoreRegs - 1].second);
    for (auto [regno, v] : values)
        if (regno != kRegCpsr)
            set(core, regno, v);
    return true;
}

} // namespace piemu::gdb
