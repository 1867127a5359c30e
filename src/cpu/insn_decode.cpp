#include "cpu/insn_decode.hpp"

#include <capstone/capstone.h>

#include "piemu/arm_core.hpp"

namespace piemu {

namespace {

struct Capstone {
    csh arm = 0, thumb = 0;
    Capstone() {
        cs_open(CS_ARCH_ARM, CS_MODE_ARM, &arm);
        cs_open(CS_ARCH_ARM, CS_MODE_THUMB, &thumb);
        cs_option(arm, CS_OPT_DETAIL, CS_OPT_ON);
        cs_option(thumb, CS_OPT_DETAIL, CS_OPT_ON);
    }
    ~Capstone() {
        cs_close(&arm);
        cs_close(&thumb);
    }
};

int reg_index(arm_reg r) {
    if (r >= ARM_REG_R0 && r <= ARM_REG_R12)
        return r - ARM_REG_R0;
    switch (r) {
    case ARM_REG_SP:
        return 13;
    case ARM_REG_LR:
        return 14;
    case ARM_REG_PC:
        return 15;
    default:
        return -1;
    }
}

uint32_t read_reg(const ArmCore& core, arm_reg r, uint32_t pc, bool thumb) {
    int i = reg_index(r);
    if (i < 0)
        return 0;
    if (i == 15)
        return thumb ? ((pc & ~3u) + 4) : pc + 8;
    return core.reg(unsigned(i));
}

uint32_t apply_shift(uint32_t v, arm_shifter type, unsigned amount) {
    switch (type) {
    case ARM_SFT_LSL:
        return amount >= 32 ? 0 : v << amount;
    case ARM_SFT_LSR:
        return amount >= 32 ? 0 : v >> amount;
    case ARM_SFT_ASR:
        return amount >= 32 ? uint32_t(int32_t(v) >> 31) : uint32_t(int32_t(v) >> amount);
    case ARM_SFT_ROR:
        amount &= 31;
        return amount ? (v >> amount) | (v << (32 - amount)) : v;
    default:
        return v;
    }
}

struct Kind {
    bool write;
    uint32_t size; // bytes per element; 0 = block transfer of registers
};

bool classify(unsigned id, Kind& k) {
    switch (id) {
    case ARM_INS_LDR:
    case ARM_INS_LDRT:
    case ARM_INS_LDREX:
    case ARM_INS_LDA:
    case ARM_INS_LDAEX:
        k = {false, 4};
        return true;
    case ARM_INS_LDRB:
    case ARM_INS_LDRBT:
    case ARM_INS_LDRSB:
    case ARM_INS_LDRSBT:
    case ARM_INS_LDREXB:
        k = {false, 1};
        return true;
    case ARM_INS_LDRH:
    case ARM_INS_LDRHT:
    case ARM_INS_LDRSH:
    case ARM_INS_LDRSHT:
    case ARM_INS_LDREXH:
        k = {false, 2};
        return true;
    case ARM_INS_LDRD:
    case ARM_INS_LDREXD:
        k = {false, 8};
        return true;
    case ARM_INS_STR:
    case ARM_INS_STRT:
    case ARM_INS_STREX:
    case ARM_INS_STL:
    case ARM_INS_STLEX:
        k = {true, 4};
        return true;
    case ARM_INS_STRB:
    case ARM_INS_STRBT:
    case ARM_INS_STREXB:
        k = {true, 1};
        return true;
    case ARM_INS_STRH:
    case ARM_INS_STRHT:
    case ARM_INS_STREXH:
        k = {true, 2};
        return true;
    case ARM_INS_STRD:
    case ARM_INS_STREXD:
        k = {true, 8};
        return true;
    case ARM_INS_SWP:
        k = {false, 4};
        return true;
    case ARM_INS_SWPB:
        k = {false, 1};
        return true;
    case ARM_INS_VLDR:
        k = {false, 4};
        return true;
    case ARM_INS_VSTR:
        k = {true, 4};
        return true;
    default:
        return false;
    }
}

} // namespace

bool is_exception_return(uint32_t insn, unsigned size, bool thumb) {
    if (thumb) {
        if (size != 4)
            return false;
        return (insn & 0xffffff00u) == 0xf3de8f00u || // SUBS PC, LR, #imm8 (ERET)
               (insn & 0xffd0ffffu) == 0xe810c000u || // RFEDB
               (insn & 0xffd0ffffu) == 0xe990c000u;   // RFEIA
    }
    if ((insn & 0xfe50ffffu) == 0xf8100a00u) // RFE
        return true;
    if ((insn >> 28) == 0xf)
        return false;
    if ((insn & 0x0fffffffu) == 0x0160006eu) // ERET
        return true;
    if ((insn & 0x0e508000u) == 0x08508000u) // LDM{mode} Rn{!}, {..., pc}^
        return true;
    // Data processing, S set, Rd = PC; not TST/TEQ/CMP/CMN (opcodes 8-11).
    unsigned opcode = (insn >> 21) & 0xf;
    bool dp = (insn & 0x0c000000u) == 0 && !((insn & 0x02000000u) == 0 && (insn & 0x90) == 0x90);
    return dp && (insn & 0x00100000u) && ((insn >> 12) & 0xf) == 15 && (opcode < 8 || opcode > 11);
}

MemAccessInfo decode_mem_access(const ArmCore& core, uint32_t pc, bool thumb) {
    static Capstone cs;
    MemAccessInfo out;
    uint8_t code[4];
    if (!core.read_virt(pc, code))
        return out;
    cs_insn* insn = nullptr;
    size_t n = cs_disasm(thumb ? cs.thumb : cs.arm, code, sizeof code, pc, 1, &insn);
    if (n == 0)
        return out;
    const cs_arm& a = insn->detail->arm;
    unsigned id = insn->id;

    // Block transfers: LDM/STM in all addressing modes, PUSH/POP, VLDM/VSTM.
    auto block = [&](bool write, int dir_incr, bool before, int first_list_op) {
        int base_op = first_list_op - 1;
        uint32_t base = base_op >= 0 ? read_reg(core, arm_reg(a.operands[base_op].reg), pc, thumb)
                                     : core.reg(13);
        uint32_t nregs = uint32_t(a.op_count - first_list_op);
        uint32_t bytes = 4 * nregs;
        if (id == ARM_INS_VLDMIA || id == ARM_INS_VSTMIA || id == ARM_INS_VLDMDB ||
            id == ARM_INS_VSTMDB || id == ARM_INS_VPUSH || id == ARM_INS_VPOP) {
            // D registers are 8 bytes each.
            if (nregs && a.operands[first_list_op].reg >= ARM_REG_D0 &&
                a.operands[first_list_op].reg <= ARM_REG_D31)
                bytes = 8 * nregs;
        }
        uint32_t lowest = dir_incr > 0 ? base + (before ? 4 : 0) : base - bytes + (before ? 0 : 4);
        out = {true, write, lowest, bytes, 4, 0xe};
    };
    switch (id) {
    case ARM_INS_LDM:
        block(false, 1, false, 1);
        break;
    case ARM_INS_LDMIB:
        block(false, 1, true, 1);
        break;
    case ARM_INS_LDMDA:
        block(false, -1, false, 1);
        break;
    case ARM_INS_LDMDB:
        block(false, -1, true, 1);
        break;
    case ARM_INS_STM:
        block(true, 1, false, 1);
        break;
    case ARM_INS_STMIB:
        block(true, 1, true, 1);
        break;
    case ARM_INS_STMDA:
        block(true, -1, false, 1);
        break;
    case ARM_INS_STMDB:
        block(true, -1, true, 1);
        break;
    case ARM_INS_PUSH:
        block(true, -1, true, 0);
        break;
    case ARM_INS_POP:
        block(false, 1, false, 0);
        break;
    case ARM_INS_VLDMIA:
        block(false, 1, false, 1);
        break;
    case ARM_INS_VSTMIA:
        block(true, 1, false, 1);
        break;
    case ARM_INS_VLDMDB:
        block(false, -1, true, 1);
        break;
    case ARM_INS_VSTMDB:
        block(true, -1, true, 1);
        break;
    case ARM_INS_VPUSH:
        block(true, -1, true, 0);
        break;
    case ARM_INS_VPOP:
        block(false, 1, false, 0);
        break;
    default: {
        Kind k;
        if (!classify(id, k))
            break;
        int mem = -1;
        for (int i = 0; i < a.op_count; ++i)
            if (a.operands[i].type == ARM_OP_MEM)
                mem = i;
        if (mem < 0)
            break;
        const cs_arm_op& op = a.operands[mem];
        uint32_t base = read_reg(core, arm_reg(op.mem.base), pc, thumb);
        if (op.mem.base == ARM_REG_PC && thumb)
            base &= ~3u;
        // An operand after the memory operand means post-indexed: the access uses
        // the base as it is.
        bool post = mem + 1 < a.op_count;
        uint32_t addr = base;
        if (!post) {
            uint32_t offset = uint32_t(op.mem.disp);
            if (op.mem.index != ARM_REG_INVALID) {
                offset = read_reg(core, arm_reg(op.mem.index), pc, thumb);
                if (op.shift.type != ARM_SFT_INVALID)
                    offset = apply_shift(offset, op.shift.type, op.shift.value);
                else if (op.mem.lshift)
                    offset <<= op.mem.lshift;
                addr = op.mem.scale < 0 ? base - offset : base + offset;
            } else {
                addr = base + offset; // disp is signed in Capstone 4
            }
        }
        uint32_t align = k.size == 8 ? 4 : k.size;
        if (id == ARM_INS_LDREXD || id == ARM_INS_STREXD)
            align = 8;
        out = {true, k.write, addr, k.size, align, 0xe};
        break;
    }
    }
    // Capstone's condition codes are the ARM encoding plus one (ARM_CC_INVALID = 0).
    if (out.valid && a.cc != ARM_CC_INVALID && a.cc != ARM_CC_AL)
        out.cond = unsigned(a.cc) - 1;
    cs_free(insn, n);
    return out;
}

bool condition_passed(unsigned cond, uint32_t cpsr) {
    bool n = cpsr & psr::N, z = cpsr & psr::Z, c = cpsr & psr::C, v = cpsr & psr::V;
    bool r;
    switch (cond >> 1) {
    case 0:
        r = z;
        break;
    case 1:
        r = c;
        break;
    case 2:
        r = n;
        break;
    case 3:
        r = v;
        break;
    case 4:
        r = c && !z;
        break;
    case 5:
        r = n == v;
        break;
    case 6:
        r = !z && n == v;
        break;
    default:
        return true; // AL (and the unconditional 0b1111 space)
    }
    return (cond & 1) ? !r : r;
}

} // namespace piemu
