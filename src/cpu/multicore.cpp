// What one core needs for a multiprocessor: SEV and the event register, and a way to
// clear its local exclusive monitor from the host.
//
// SEV, WFE, YIELD: Unicorn (QEMU's TCG) executes SEV as a NOP and stops after WFE and
// YIELD as if they were invalid instructions, with PC past them. Like the generic
// timer's c14 accesses, every one of these found when a new translation block is
// scanned gets a UC_HOOK_CODE bounded to its address. For SEV the hook checks the
// condition, sets this core's event register and notes the SEV for the machine, which
// signals the event to every core between slices (take_sev()). For WFE and YIELD it
// marks the instruction, so that the invalid-instruction stop right after it is known
// to be that hint even when PC lands where the run started (a WFE loop resumed just
// after its WFE). Known limitation, as for c14: a conditional SEV inside a Thumb IT
// block is judged by an IT state Unicorn may not have synced before the hook.
//
// The exclusive monitor: Unicorn's LDREX records the address and the value read in the
// CPU state (QEMU's exclusive_addr/exclusive_val); STREX succeeds if exclusive_addr
// matches and memory still holds the value (a compare-and-swap). Nothing in Unicorn's
// API reaches that state, so piemu finds exclusive_addr in a saved uc_context once, by
// experiment on a scratch engine (an LDREX from a known address with a known value,
// then CLREX, which QEMU implements as exclusive_addr = -1), and checks that writing
// -1 there makes the next STREX fail. If any step fails (a different Unicorn), the
// monitor is left alone and piemu warns once: STREX then fails across cores only when
// the value changed, as in Unicorn itself.
#include <cstring>
#include <mutex>
#include <utility>

#include <spdlog/spdlog.h>
#include <unicorn/unicorn.h>

#include "cpu/insn_decode.hpp"
#include "piemu/arm_core.hpp"

namespace piemu {

namespace {

constexpr uint64_t kMonitorOpen = ~uint64_t{0}; // QEMU's exclusive_addr when clear

/// Runs `words` (ARM code) at 0 on the scratch engine; false on any error.
bool run_words(uc_engine* uc, std::initializer_list<uint32_t> words) {
    uint32_t addr = 0;
    for (uint32_t w : words) {
        if (uc_mem_write(uc, addr, &w, 4))
            return false;
        addr += 4;
    }
    // Translations of earlier code at the same address must not run.
    uc_ctl_remove_cache(uc, 0, 0x400);
    return uc_emu_start(uc, 0, addr, 0, 0) == UC_ERR_OK;
}

uint64_t read_u64(const ::uc_context* ctx, long offset) {
    uint64_t v;
    std::memcpy(&v, reinterpret_cast<const uint8_t*>(ctx) + offset, 8);
    return v;
}

void write_u64(::uc_context* ctx, long offset, uint64_t v) {
    std::memcpy(reinterpret_cast<uint8_t*>(ctx) + offset, &v, 8);
}

/// A scratch engine and context for the experiment, released in any case.
struct Scratch {
    uc_engine* uc = nullptr;
    ::uc_context* ctx = nullptr;
    ~Scratch() {
        if (ctx)
            uc_context_free(ctx);
        if (uc)
            uc_close(uc);
    }
};

/// The byte offset of exclusive_addr in a saved uc_context, or -1.
long find_exclusive_offset() {
    constexpr uint32_t kAddr = 0x800, kValue = 0x5a5a1234;
    constexpr uint32_t kLdrex = 0xe1901f9f; // ldrex r1, [r0]
    constexpr uint32_t kStrex = 0xe1802f91; // strex r2, r1, [r0]
    constexpr uint32_t kClrex = 0xf57ff01f; // clrex
    Scratch s;
    uint32_t r0 = kAddr, value = kValue;
    if (uc_open(UC_ARCH_ARM, UC_MODE_ARM, &s.uc))
        return -1;
    uc_ctl_set_cpu_model(s.uc, UC_CPU_ARM_CORTEX_A7);
    if (uc_mem_map(s.uc, 0, 0x1000, UC_PROT_ALL) || uc_mem_write(s.uc, kAddr, &value, 4) ||
        uc_reg_write(s.uc, UC_ARM_REG_R0, &r0) || uc_context_alloc(s.uc, &s.ctx) ||
        !run_words(s.uc, {kLdrex}) || uc_context_save(s.uc, s.ctx))
        return -1;
    // exclusive_addr and exclusive_val are adjacent 64-bit fields: exactly one match.
    long found = -1;
    size_t size = uc_context_size(s.uc);
    for (size_t off = 0; off + 16 <= size; off += 4) {
        if (read_u64(s.ctx, long(off)) == kAddr && read_u64(s.ctx, long(off + 8)) == kValue) {
            if (found >= 0)
                return -1;
            found = long(off);
        }
    }
    if (found < 0 || !run_words(s.uc, {kClrex}) || uc_context_save(s.uc, s.ctx) ||
        read_u64(s.ctx, found) != kMonitorOpen)
        return -1;
    // Cleared through the context, a STREX after an LDREX fails (r2 = 1)...
    uint32_t r2 = 0;
    if (!run_words(s.uc, {kLdrex}) || uc_context_save(s.uc, s.ctx))
        return -1;
    write_u64(s.ctx, found, kMonitorOpen);
    if (uc_context_restore(s.uc, s.ctx) || !run_words(s.uc, {kStrex}) ||
        uc_reg_read(s.uc, UC_ARM_REG_R2, &r2) || r2 != 1)
        return -1;
    // ...and without that, it succeeds (r2 = 0).
    if (!run_words(s.uc, {kLdrex, kStrex}) || uc_reg_read(s.uc, UC_ARM_REG_R2, &r2) || r2 != 0)
        return -1;
    return found;
}

long exclusive_offset() {
    static long offset = -2;
    static std::once_flag once;
    std::call_once(once, [] {
        offset = find_exclusive_offset();
        if (offset < 0)
            spdlog::warn("this Unicorn's exclusive monitor cannot be cleared by piemu: a "
                         "STREX fails across cores only when the value changed");
    });
    return offset;
}

} // namespace

bool ArmCore::exclusive_monitor_reachable() {
    return exclusive_offset() >= 0;
}

void ArmCore::clear_exclusive_monitor() {
    long offset = exclusive_offset();
    if (offset < 0)
        return;
    if (!monitor_ctx_ && uc_context_alloc(uc_, &monitor_ctx_))
        return;
    // Only the CPU state is saved (uc_context's default): two copies of a few KiB.
    if (uc_context_save(uc_, monitor_ctx_) || read_u64(monitor_ctx_, offset) == kMonitorOpen)
        return;
    write_u64(monitor_ctx_, offset, kMonitorOpen);
    uc_context_restore(uc_, monitor_ctx_);
    invalidate_reg_cache();
}

void ArmCore::enable_vfp() {
    set_cp15(1, 0, 0, 2, cp15(1, 0, 0, 2) | (0xfu << 20)); // CPACR: cp10, cp11 full access
    uint32_t fpexc = 1u << 30;                             // FPEXC.EN
    uc_reg_write(uc_, UC_ARM_REG_FPEXC, &fpexc);
}

void ArmCore::hint_hook(uc_engine*, uint64_t addr, uint32_t, void* ud) {
    auto* c = static_cast<ArmCore*>(ud);
    if (c->stopped_by_hook_)
        return;
    bool thumb = c->thumb();
    uint32_t insn;
    unsigned size;
    if (!c->fetch_insn(uint32_t(addr), thumb, insn, size))
        return;
    Hint hint = watched_hint(insn, size, thumb);
    if (hint == Hint::None)
        return; // the code at this address changed
    if (hint != Hint::Sev) {
        // Unicorn stops right after it with an invalid instruction (if its condition
        // passes): mark it for classify_invalid.
        c->hint_mark_ = {true, hint == Hint::Wfe, uint32_t(addr), size};
        return;
    }
    uint32_t cpsr_v = c->cpsr();
    if (!condition_passed(insn_condition(insn, thumb, cpsr_v), cpsr_v))
        return;
    c->event_register_ = true; // SEV signals every core, this one included
    c->sev_executed_ = true;
    c->clock_.request_attention(); // the machine signals the others after the block
}

bool ArmCore::hinted_stop(uint32_t pc, bool& wfe, uint32_t& at) {
    HintMark m = std::exchange(hint_mark_, HintMark{});
    if (!m.valid || pc != m.pc + m.size)
        return false;
    wfe = m.wfe;
    at = m.pc;
    return true;
}

} // namespace piemu
