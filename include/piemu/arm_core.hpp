// One ARMv7-A core (Cortex-A7) over a Unicorn engine, with the parts Unicorn lacks:
// exception entry into the guest's vector table, fault status/address registers,
// an MMU walk of our own (so faults are precise and their status codes exact),
// interrupt inputs, and instruction counting for the virtual clock.
//
// Architecture facts follow the ARM Architecture Reference Manual ARMv7-A/R
// (DDI 0406C), B1.8 "Exception handling" and B3 "Virtual Memory System Architecture".
// Alignment: Unicorn 2.1's TCG (QEMU 5.0) checks only LDREX/STREX. piemu sees the
// guest's writes to SCTLR (HCR.TVM traps the MMU control registers; they are emulated
// in cp15_traps.cpp) and, while SCTLR.A is set, checks every load/store before it
// executes in a code hook: exact alignment faults, at a speed cost paid only by such
// guests.
//
// Not modelled: Security Extensions as seen by the guest (the core is Non-secure with
// no Monitor), Hyp mode entry, LDRD/LDM alignment faults with SCTLR.A clear, the
// FCSE, imprecise (asynchronous) aborts, LPAE.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cpu/generic_timer.hpp"

#include "piemu/clock.hpp"
#include "piemu/device.hpp"
#include "piemu/error.hpp"
#include "piemu/report_once.hpp"

struct uc_struct;
struct uc_context;

namespace piemu {

class Bus;

enum class CpuMode : uint32_t {
    Usr = 0x10,
    Fiq = 0x11,
    Irq = 0x12,
    Svc = 0x13,
    Mon = 0x16,
    Abt = 0x17,
    Hyp = 0x1a,
    Und = 0x1b,
    Sys = 0x1f,
};

/// The kernel's name for a mode ("SVC_32"), as __show_regs prints it.
const char* mode_name(uint32_t mode_bits);

namespace psr {
constexpr uint32_t N = 1u << 31, Z = 1u << 30, C = 1u << 29, V = 1u << 28, Q = 1u << 27;
constexpr uint32_t J = 1u << 24, E = 1u << 9, A = 1u << 8, I = 1u << 7, F = 1u << 6;
constexpr uint32_t T = 1u << 5, M = 0x1f;
constexpr uint32_t IT = (3u << 25) | (0x3fu << 10);
} // namespace psr

enum class ExceptionType { Reset, Undefined, Svc, PrefetchAbort, DataAbort, Irq, Fiq };
const char* exception_name(ExceptionType t);

/// Short-descriptor fault status codes (DFSR/IFSR FS[4:0], ARM ARM B3.13.3).
namespace fsc {
constexpr uint32_t Alignment = 0x01, DebugEvent = 0x02, AccessFlagSection = 0x03;
constexpr uint32_t TranslationSection = 0x05, AccessFlagPage = 0x06;
constexpr uint32_t TranslationPage = 0x07, SyncExternal = 0x08, DomainSection = 0x09;
constexpr uint32_t DomainPage = 0x0b, PermissionSection = 0x0d, PermissionPage = 0x0f;
constexpr uint32_t WnR = 1u << 11; // DFSR: the access was a write
} // namespace fsc

/// Why ArmCore::run() returned to the run loop.
enum class StopReason {
    Yield,     ///< clock.stop_at() reached or attention requested: nothing to do here
    Wfi,       ///< WFI executed; PC is after it
    Wfe,       ///< WFE executed; PC is after it
    Svc,       ///< SVC executed; PC is after it; insn holds the encoding
    Undefined, ///< undefined instruction at pc
    PrefetchAbort,
    DataAbort,
    Smc,        ///< SMC executed (no Security Extensions: taken as UNDEFINED)
    Breakpoint, ///< a debugger breakpoint at pc; the instruction has not run
    Watchpoint, ///< a debugger watchpoint hit: `far` is the address, pc the next insn
    Error,      ///< Unicorn failed in a way that is no guest exception
};

/// What a debugger watchpoint watches (gdb's Z2 write, Z3 read, Z4 access).
enum class WatchKind { Write, Read, Access };

struct StopInfo {
    StopReason reason = StopReason::Yield;
    uint32_t pc = 0;    ///< address of the instruction concerned
    bool thumb = false; ///< that instruction is Thumb
    uint32_t insn = 0;  ///< its encoding (Thumb-2 32-bit: first halfword in the high half)
    unsigned insn_size = 4;
    uint32_t fsr = 0; ///< DFSR/IFSR value for aborts
    uint32_t far = 0; ///< DFAR/IFAR value for aborts
    bool far_valid = true;
    int uc_error = 0;                   ///< uc_err for StopReason::Error
    WatchKind watch = WatchKind::Write; ///< for StopReason::Watchpoint: the access made
};

enum class Access { Read, Write, Fetch };

/// Result of a translation-table walk.
struct Translation {
    bool ok = false;
    uint32_t pa = 0;
    uint32_t fsr = 0;   ///< fault status when !ok (without WnR)
    uint32_t perms = 0; ///< UC_PROT_* granted at the walked privilege
};

class ArmCore final : public IrqSink {
public:
    static constexpr unsigned kIrqInput = 0;
    static constexpr unsigned kFiqInput = 1;

    /// `counter_hz` is the generic timer's count rate (the board's crystal).
    ArmCore(unsigned index, VirtualClock& clock, Bus& bus, uint64_t counter_hz = 19'200'000);
    ~ArmCore() override;
    ArmCore(const ArmCore&) = delete;
    ArmCore& operator=(const ArmCore&) = delete;

    /// Creates the engine, maps the bus and installs the hooks.
    ErrorOr<void> init();
    uc_struct* uc() { return uc_; }
    unsigned index() const { return index_; }

    // Registers of the current mode. n = 0..15 (15 = PC without the Thumb bit).
    uint32_t reg(unsigned n) const;
    void set_reg(unsigned n, uint32_t value);
    uint32_t pc() const { return reg(15); }
    /// Sets PC and the instruction set state (Unicorn takes T from PC bit 0).
    void set_pc(uint32_t addr, bool thumb);
    uint32_t cpsr() const;
    /// r0-r15 (PC without the Thumb bit) into `r`, and CPSR as the result: a whole
    /// context at once (a task switch).
    uint32_t context(std::array<uint32_t, 16>& r) const;
    /// A whole context at once (a task switch): CPSR (its T bit from r[15] bit 0),
    /// r0-r14 of the new mode, then PC = r[15] with T in bit 0.
    void set_context(const std::array<uint32_t, 16>& r, uint32_t cpsr);
    /// Writes the whole CPSR; a mode change switches the banked registers.
    void set_cpsr(uint32_t value);
    uint32_t spsr() const;
    void set_spsr(uint32_t value);
    uint32_t mode() const { return cpsr() & psr::M; }
    bool thumb() const { return cpsr() & psr::T; }

    /// Banked SP/LR/SPSR of another mode (reads switch mode and back, no side effect).
    uint32_t banked_sp(CpuMode m);
    uint32_t banked_lr(CpuMode m);
    uint32_t banked_spsr(CpuMode m);
    void set_banked_sp(CpuMode m, uint32_t value);
    /// Register n (0-14) as mode `m` sees it (r8-r12 differ in FIQ mode).
    uint32_t banked_reg(CpuMode m, unsigned n);

    // cp15 registers by encoding (MRC/MCR p15, opc1, Rt, CRn, CRm, opc2).
    uint32_t cp15(unsigned crn, unsigned opc1, unsigned crm, unsigned opc2) const;
    void set_cp15(unsigned crn, unsigned opc1, unsigned crm, unsigned opc2, uint32_t value);
    uint32_t sctlr() const { return mmu_regs().sctlr; }

    /// ARMv7-A exception entry (ARM ARM B1.8.3): mode, banked LR = preferred return
    /// + the type's offset, SPSR = old CPSR, CPSR.{I,F,A} per type, T = SCTLR.TE,
    /// E = SCTLR.EE, IT and J cleared, PC = vector (SCTLR.V ? 0xffff0000 : VBAR).
    /// `preferred_return` is the architectural preferred return address: the
    /// faulting/undefined instruction for UND/PABT/DABT, the SVC for SVC, the next
    /// instruction to execute for IRQ/FIQ. `from_thumb` is the state it was in.
    void take_exception(ExceptionType type, uint32_t preferred_return, bool from_thumb);
    /// Data/prefetch abort entry with the fault registers written first.
    void take_abort(const StopInfo& fault);

    // IrqSink: input 0 = nIRQ, 1 = nFIQ (level, active high here).
    void set_irq_input(unsigned input, bool level) override;
    bool irq_line() const { return irq_line_; }
    bool fiq_line() const { return fiq_line_; }
    /// When a line went high: the clock's time then. With several cores, that is the
    /// time of the core whose action raised it, which may lie ahead of this core's
    /// own time (it runs later in the round): this core sees the line only once its
    /// time reaches that, so no interrupt is taken before it was raised.
    /// VirtualClock::kNever when neither line is high.
    uint64_t line_raised_at() const;
    /// Takes FIQ or IRQ if its line is high (raised by now) and CPSR.F/I allow it.
    /// Returns the exception taken, if any.
    std::optional<ExceptionType> deliver_interrupts();
    /// True when a raised interrupt line (raised by now) is not masked by CPSR.I/F.
    bool interrupt_unmasked() const;
    /// line_raised_at() of the lines CPSR.I/F do not mask.
    uint64_t unmasked_line_raised_at() const;

    /// Runs guest code until clock.stop_at(), an attention request, or a guest
    /// event the run loop must handle. Retired instructions advance the clock.
    StopInfo run();

    /// Executes exactly one instruction (a debugger's stepi), or stops before it for a
    /// fault, an undefined instruction or a breakpoint, as run() would. The clock
    /// advances by one for an instruction that executed. Slow: Unicorn's exact
    /// instruction count flushes its translations on every switch between step() and
    /// run() (unicorn-facts.md).
    StopInfo step();

    // Debugger breakpoints and watchpoints (gdb's Z0/Z1 and Z2-Z4). A breakpoint
    // stops run() and step() before the instruction at its address executes; a
    // watchpoint stops them after the instruction whose access touched its range
    // (virtual addresses, RAM and MMIO alike). While any watchpoint is set, every
    // instruction is hooked (3-4x slower); breakpoints cost only at their address.
    void add_breakpoint(uint32_t addr);
    void remove_breakpoint(uint32_t addr);
    bool has_breakpoint(uint32_t addr) const { return breakpoints_.count(addr) != 0; }
    void add_watchpoint(uint32_t addr, uint32_t len, WatchKind kind);
    void remove_watchpoint(uint32_t addr, uint32_t len, WatchKind kind);
    /// The next run() or step() does not stop at a breakpoint on the instruction it
    /// starts at (resuming from that breakpoint).
    void skip_breakpoint_once() { skip_bp_ = true; }

    /// Instructions this core has retired (counted per translation block).
    uint64_t instructions() const { return insns_; }

    /// Walks the translation tables as the MMU would for an access at the given
    /// privilege. With the MMU off, VA = PA with full permissions.
    Translation translate(uint32_t va, Access access, bool privileged) const;
    /// Host reads of guest virtual memory with the current translation (debuggers,
    /// semihosting). Fail on any untranslatable or non-RAM byte.
    bool read_virt(uint32_t va, std::span<uint8_t> out) const;
    bool write_virt(uint32_t va, std::span<const uint8_t> in);

    /// True while the per-instruction alignment check (SCTLR.A) is installed.
    bool alignment_checking() const { return align_hook_ != 0; }

    /// Calls `fn(pc, cpsr)` after every exception return the guest executes (an
    /// instruction that writes CPSR from SPSR: SUBS/MOVS PC, LDM ^ with PC, RFE,
    /// ERET). Each block's last instruction is classified once, when the block is
    /// first counted; a block hook that runs only for watching runs reports the block
    /// that follows one. Call before the first run() (translated blocks keep the hook
    /// they were translated with).
    void watch_exception_returns(std::function<void(uint32_t pc, uint32_t cpsr)> fn);

    /// What a code trap's function did (set_code_trap).
    enum class TrapAction {
        Continue, ///< moved PC: the run goes on there without stopping
        Stop,     ///< the run must end here (the machine knows why): run() yields
        Decline,  ///< not handled: the instruction executes as it would untrapped
    };
    /// Hands each instruction in [begin, end) to `fn(core, pc)` before it executes,
    /// inside the run: `fn` reads and writes this core's registers as between runs,
    /// and the run goes on where it put PC, without returning from Unicorn (the kernel
    /// model's gates, src/kernel/entry.cpp: a stop and a new run cost more than the
    /// gate's C++). Not while stepping, nor at an address with a breakpoint: there
    /// the instruction executes and stops the run as before. One range per core; call
    /// before the first run().
    void set_code_trap(uint32_t begin, uint32_t end,
                       std::function<TrapAction(ArmCore&, uint32_t pc)> fn);

    // ---- multiprocessing (src/cpu/multicore.cpp; docs/architecture.md, "Several cores")
    /// The event register (ARM ARM B1.8.13, "Wait For Event and Send Event"): set when
    /// any core executes SEV (the machine signals it to every core), consumed by WFE.
    /// Unicorn executes SEV as a NOP, so piemu hooks each SEV it finds in new code.
    bool event_register() const { return event_register_; }
    void signal_event() { event_register_ = true; }
    /// WFE's test: true (and the register cleared) if an event was pending, in which
    /// case the WFE completes at once.
    bool consume_event() { return std::exchange(event_register_, false); }
    /// True once after this core executed one or more SEVs since the last call.
    bool take_sev() { return std::exchange(sev_executed_, false); }
    /// True once after this core executed an Inner Shareable TLB maintenance operation
    /// (TLBIALLIS, TLBIMVAIS, ...) since the last call: the machine then drops every
    /// other core's cached translations too (cp15_traps.cpp).
    bool take_tlb_broadcast() { return std::exchange(tlb_broadcast_, false); }
    /// Forgets every cached virtual-to-physical translation (Unicorn's TLB), as a
    /// TLBIALL would: the next access to any page walks the tables again.
    void flush_tlb();
    /// Clears this core's local exclusive monitor, as CLREX does: its next STREX fails
    /// unless a new LDREX precedes it (ARM ARM A3.4.4 allows a context switch to do
    /// this). Reached through Unicorn's saved context at an offset found once by
    /// experiment (exclusive_monitor_reachable()); without it, does nothing.
    void clear_exclusive_monitor();
    /// Whether clear_exclusive_monitor() works with this build of Unicorn.
    static bool exclusive_monitor_reachable();
    /// VFP and Advanced SIMD on, as the boot stub leaves a core: CPACR cp10/cp11 full
    /// access, then FPEXC.EN.
    void enable_vfp();

    /// This core's generic timer (its four output lines go to the local controller).
    GenericTimer& timer() { return timer_; }
    /// Addresses of c14 instructions that have an interception hook (for tests).
    size_t c14_hook_count() const { return c14_hooks_.size(); }

private:
    friend struct CoreHooks;
    // HCR.TVM trapped writes and SCTLR.A alignment checking (cp15_traps.cpp).
    /// Emulates a cp15 write that HCR.TVM trapped, or a TLB maintenance operation that
    /// HCR.TTLB trapped; false if `insn` is neither.
    bool emulate_trapped_write(uint32_t pc, bool thumb, uint32_t insn, unsigned size);
    /// Installs or removes align_check to follow SCTLR.A.
    void sync_alignment_checking();
    /// UC_HOOK_CODE callback installed while SCTLR.A is set.
    static void align_check(uc_struct* uc, uint64_t addr, uint32_t size, void* ud);

    // Generic timer interception (c14_intercept.cpp).
    enum class C14Result { NotC14, Done, Undefined };
    /// Emulates the c14 access `insn` at `pc` and steps past it.
    C14Result emulate_c14(uint32_t pc, bool thumb, uint32_t insn, unsigned size,
                          bool in_hook = false);
    /// Looks for c14 instructions in a newly seen translation block.
    void scan_block_for_c14(uint32_t addr, uint32_t size, bool thumb);
    /// Installs the c14 and hint hooks scan_block_for_c14 asked for (outside
    /// emulation).
    void install_pending_hooks();
    /// UC_HOOK_CODE callback bounded to one c14 instruction.
    static void c14_hook(uc_struct* uc, uint64_t addr, uint32_t size, void* ud);
    // Hint interception (multicore.cpp): scan_block_for_c14 also notes each SEV, WFE
    // and YIELD.
    /// UC_HOOK_CODE callback bounded to one SEV, WFE or YIELD.
    static void hint_hook(uc_struct* uc, uint64_t addr, uint32_t size, void* ud);
    /// True if Unicorn's invalid-instruction stop at `pc` is the WFE or YIELD whose
    /// hook ran just before it (consumes the mark): `wfe` says which, `at` where.
    bool hinted_stop(uint32_t pc, bool& wfe, uint32_t& at);
    /// Runs f() with CPSR.M = m (its banked registers visible), then restores.
    template <typename F>
    auto in_mode(CpuMode m, F&& f);
    unsigned count_block(uint64_t addr, uint32_t size);
    StopInfo classify_invalid(uint32_t pc);
    StopInfo data_abort_from_insn(uint32_t pc);
    bool fetch_insn(uint32_t pc, bool thumb, uint32_t& insn, unsigned& size) const;

    unsigned index_;
    VirtualClock& clock_;
    Bus& bus_;
    uc_struct* uc_ = nullptr;

    bool irq_line_ = false;
    bool fiq_line_ = false;
    uint64_t irq_raised_at_ = 0; ///< clock time the line last went high
    uint64_t fiq_raised_at_ = 0;

    // Run state shared with the hooks.
    uint64_t insns_ = 0;
    size_t align_hook_ = 0;
    bool first_block_ = false;
    uint32_t run_start_pc_ = 0;
    StopInfo stop_{};
    bool stopped_by_hook_ = false;
    bool block_stop_ = false;
    /// Where the block hook stopped: the resume point. Unicorn's PC is stale after a
    /// block-hook stop once any UC_HOOK_CODE exists (the c14 hooks), so finish_run()
    /// puts this back.
    uint32_t block_stop_pc_ = 0;
    struct PendingFault {
        bool valid = false;
        uint32_t va = 0;
        Access access = Access::Read;
        uint32_t fsr = 0;
    } tlb_fault_;

    // Thumb blocks: instruction counts by block address (direct mapped).
    struct BlockCount {
        uint32_t addr = ~0u;
        uint32_t size = 0;
        uint32_t count = 0;
        bool eret = false; ///< ends in an exception return (only while watched)
    };
    std::array<BlockCount, 4096> thumb_counts_{};
    // The fingerprint of each entry's bytes (block_hash in arm_core.cpp), apart from
    // the table the block hook reads. run() moves its first block's entry and
    // fingerprint to first_saved_*; count_block() puts the entry back if the block's
    // bytes still have that fingerprint, instead of scanning it again.
    std::array<uint64_t, 4096> block_hash_{};
    BlockCount first_saved_{};
    uint64_t first_saved_hash_ = 0;

    // The registers a translation table walk reads (translate(), take_exception()),
    // kept here: reading one through uc_reg_read(UC_ARM_REG_CP_REG) costs a hash
    // lookup, and a kernel-model interrupt walks a dozen times. Every write to them
    // reaches set_cp15() (host writes, and guest writes trapped by HCR.TVM, which a
    // guest cannot clear: it never runs in HYP), which drops the copy.
    struct MmuRegs {
        uint32_t sctlr, ttbcr, ttbr0, ttbr1, dacr;
    };
    const MmuRegs& mmu_regs() const;
    mutable MmuRegs mmu_regs_{};
    mutable bool mmu_regs_valid_ = false;
    // A block count_block() has not seen, read in one piece (one translation per
    // 1 KiB it spans): fetch_insn() serves the block's scans from this copy instead
    // of translating every instruction's address. Empty outside count_block().
    std::array<uint8_t, 2048> block_bytes_{};
    uint32_t block_bytes_va_ = 0;
    uint32_t block_bytes_len_ = 0;

    GenericTimer timer_;
    std::unordered_map<uint32_t, size_t> c14_hooks_; // VA -> uc_hook; looked up only
    std::vector<uint32_t> pending_c14_;
    ReportOnce warned_it_c14_; // c14 accesses in Thumb IT blocks, warned about

    // Multiprocessing: the event register, hint hooks (the last WFE/YIELD whose hook
    // ran, for classify_invalid), the saved context through which the exclusive
    // monitor is cleared.
    bool event_register_ = false;
    bool sev_executed_ = false;
    bool tlb_broadcast_ = false; // an IS TLB operation ran: see take_tlb_broadcast()
    std::unordered_map<uint32_t, size_t> hint_hooks_; // VA -> uc_hook; looked up only
    std::vector<uint32_t> pending_hints_;
    struct HintMark {
        bool valid = false;
        bool wfe = false;
        uint32_t pc = 0;
        unsigned size = 0;
    } hint_mark_;
    ::uc_context* monitor_ctx_ = nullptr;

    // The code trap (set_code_trap) and whether its function moved PC.
    static void trap_hook(uc_struct* uc, uint64_t addr, uint32_t size, void* ud);
    std::function<TrapAction(ArmCore&, uint32_t)> trap_fn_;
    size_t trap_hook_ = 0;
    bool pc_moved_ = false;

    // Exception-return watching (watch_exception_returns): count_block() marks the
    // blocks that end in one; the block hook reports the next block's address.
    std::function<void(uint32_t, uint32_t)> eret_fn_;
    bool eret_pending_ = false;
    size_t block_hook_ = 0; ///< the UC_HOOK_BLOCK (block or block_eret)

    /// What run() and step() do first: clears the last run's stop state, installs the
    /// hooks the block scan asked for; returns PC, where the run starts.
    uint32_t begin_run();
    // Debugger state (step(), breakpoints, watchpoints).
    StopInfo finish_run(int err, bool started_thumb);
    static void breakpoint_hook(uc_struct* uc, uint64_t addr, uint32_t size, void* ud);
    static void step_hook(uc_struct* uc, uint64_t addr, uint32_t size, void* ud);
    size_t step_hook_ = 0; ///< installed while stepping (removed by run())
    unsigned step_seen_ = 0;
    bool step_stopped_ = false;
    uint32_t step_stop_pc_ = 0;
    static bool watch_hook(uc_struct* uc, int type, uint64_t addr, int size, int64_t value,
                           void* ud);
    static void watch_code_hook(uc_struct* uc, uint64_t addr, uint32_t size, void* ud);
    void sync_watch_hooks();
    /// Drops all translated code (after adding or removing a per-instruction hook).
    void drop_translations();
    bool stepping_ = false;
    /// Unicorn is executing (uc_emu_start, its hooks included): registers change under
    /// us, so reg()/cpsr() read Unicorn every time.
    bool in_emu_ = false;
    /// r0-r15 and CPSR (bit 16) as last read or written while the core is stopped:
    /// the kernel model's gates and context switches read the same registers many
    /// times between two runs, each uc_reg_read a few hundred host instructions.
    /// Dropped when Unicorn runs and when CPSR is written (a mode change banks r8-r14).
    mutable std::array<uint32_t, 17> reg_cache_{};
    mutable uint32_t reg_cached_ = 0; ///< bit n: reg_cache_[n] is valid
    void invalidate_reg_cache() { reg_cached_ = 0; }
    bool skip_bp_ = false;
    uint32_t skip_bp_pc_ = 0;
    std::map<uint32_t, size_t> breakpoints_; // address -> uc_hook
    struct Watchpoint {
        uint32_t addr, len;
        WatchKind kind;
        bool operator==(const Watchpoint&) const = default;
    };
    std::vector<Watchpoint> watchpoints_;
    std::vector<size_t> watch_hooks_;   ///< the memory hooks and the per-instruction hook
    std::optional<StopInfo> watch_hit_; ///< a watched access; stop before the next insn
};

} // namespace piemu
