// ArmCore: the Unicorn engine and the hooks that must stay together (block counting
// and stops, exceptions Unicorn raises, TLB fills, new translation blocks), register
// access, exception entry, interrupt inputs and run() with the classification of why
// emulation stopped. Elsewhere: the MMU walk (mmu.cpp), HCR.TVM/TTLB trapped cp15 writes
// and SCTLR.A alignment checking (cp15_traps.cpp), c14 interception (c14_intercept.cpp).
#include "piemu/arm_core.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unicorn/unicorn.h>

#include "cpu/insn_decode.hpp"
#include "piemu/bus.hpp"

namespace piemu {

namespace {
// QEMU's ARM exception numbers as Unicorn reports them through UC_HOOK_INTR.
constexpr uint32_t kExcpSwi = 2, kExcpPrefetchAbort = 3, kExcpDataAbort = 4, kExcpBkpt = 7;
constexpr uint32_t kExcpSmc = 13;

/// The core whose drop_translations() is running: its tlb_fill maps virtual =
/// physical meanwhile (the host thread that runs the core calls it; never the guest).
thread_local const ArmCore* identity_fill_core = nullptr;

constexpr int kRegIds[16] = {UC_ARM_REG_R0,  UC_ARM_REG_R1, UC_ARM_REG_R2,  UC_ARM_REG_R3,
                             UC_ARM_REG_R4,  UC_ARM_REG_R5, UC_ARM_REG_R6,  UC_ARM_REG_R7,
                             UC_ARM_REG_R8,  UC_ARM_REG_R9, UC_ARM_REG_R10, UC_ARM_REG_R11,
                             UC_ARM_REG_R12, UC_ARM_REG_SP, UC_ARM_REG_LR,  UC_ARM_REG_PC};

uint32_t exc_vector_offset(ExceptionType t) {
    switch (t) {
    case ExceptionType::Reset:
        return 0x00;
    case ExceptionType::Undefined:
        return 0x04;
    case ExceptionType::Svc:
        return 0x08;
    case ExceptionType::PrefetchAbort:
        return 0x0c;
    case ExceptionType::DataAbort:
        return 0x10;
    case ExceptionType::Irq:
        return 0x18;
    case ExceptionType::Fiq:
        return 0x1c;
    }
    return 0;
}
} // namespace

const char* mode_name(uint32_t m) {
    switch (m & psr::M) {
    case 0x10:
        return "USER_32";
    case 0x11:
        return "FIQ_32";
    case 0x12:
        return "IRQ_32";
    case 0x13:
        return "SVC_32";
    case 0x16:
        return "MON_32";
    case 0x17:
        return "ABT_32";
    case 0x1a:
        return "HYP_32";
    case 0x1b:
        return "UND_32";
    case 0x1f:
        return "SYSTEM_32";
    }
    return "UK_32";
}

const char* exception_name(ExceptionType t) {
    switch (t) {
    case ExceptionType::Reset:
        return "reset";
    case ExceptionType::Undefined:
        return "undef";
    case ExceptionType::Svc:
        return "svc";
    case ExceptionType::PrefetchAbort:
        return "pabt";
    case ExceptionType::DataAbort:
        return "dabt";
    case ExceptionType::Irq:
        return "irq";
    case ExceptionType::Fiq:
        return "fiq";
    }
    return "?";
}

// Unicorn callbacks, kept together and given friend access (align_check and c14_hook,
// installed on demand, are ArmCore members in their own files).
struct CoreHooks {
    // Runs before every translation block. The common case (no stop due, a block
    // seen before) is one compare, one table lookup and two adds, with no call and
    // no stack frame; everything else is block_slow().
    static void block(uc_engine* uc, uint64_t addr, uint32_t size, void* ud) {
        auto* c = static_cast<ArmCore*>(ud);
        const auto& e = c->thumb_counts_[(addr >> 1) & (c->thumb_counts_.size() - 1)];
        // The first block of a run always misses (run() invalidates its entry), so
        // it takes the slow path, which knows about first_block_.
        if (c->clock_.now() < c->clock_.check_at() && e.addr == uint32_t(addr) && e.size == size)
            [[likely]] {
            c->insns_ += e.count;
            c->clock_.advance(e.count);
            return;
        }
        block_slow(uc, addr, size, c);
    }

    // block() for runs that watch exception returns (watch_exception_returns swaps it
    // in): report the block after one that ended in an exception return, then count
    // as block() does. Runs that do not watch never pay for it.
    static void block_eret(uc_engine* uc, uint64_t addr, uint32_t size, void* ud) {
        auto* c = static_cast<ArmCore*>(ud);
        if (c->eret_pending_) {
            c->eret_pending_ = false;
            c->eret_fn_(uint32_t(addr), c->cpsr());
        }
        block(uc, addr, size, ud);
        const auto& e = c->thumb_counts_[(addr >> 1) & (c->thumb_counts_.size() - 1)];
        if (!c->block_stop_ && !c->stepping_ && e.addr == uint32_t(addr) && e.size == size &&
            e.eret)
            c->eret_pending_ = true;
    }

    [[gnu::noinline]] static void block_slow(uc_engine* uc, uint64_t addr, uint32_t size,
                                             ArmCore* c) {
        if (c->first_block_) {
            // The run starts here: stopping now would make no progress.
            c->first_block_ = false;
        } else if (c->stepping_) {
            return; // step() stops after one instruction and counts it itself
        } else if (c->clock_.attention() || c->clock_.now() >= c->clock_.stop_at() ||
                   ((c->irq_line_ || c->fiq_line_) && c->interrupt_unmasked())) {
            c->block_stop_ = true;
            c->block_stop_pc_ = uint32_t(addr);
            uc_emu_stop(uc); // nothing of this block ran; resume at `addr`
            return;
        }
        // No line is held high any more (the handler quietened its device): the
        // blocks that follow need no look at CPSR, the one compare will do.
        if (c->clock_.check_at() == 0 && !c->irq_line_ && !c->fiq_line_ && !c->stepping_)
            c->clock_.relax_check();
        unsigned n = c->count_block(addr, size);
        if (!c->pending_c14_.empty() || !c->pending_hints_.empty()) {
            // This block holds c14 or hint instructions without hooks: install them
            // and retranslate before any of it runs.
            c->block_stop_ = true;
            c->block_stop_pc_ = uint32_t(addr);
            uc_emu_stop(uc);
            return;
        }
        if (c->stepping_)
            return;
        c->insns_ += n;
        c->clock_.advance(n);
    }

    static void intr(uc_engine* uc, uint32_t intno, void* ud) {
        auto* c = static_cast<ArmCore*>(ud);
        uint32_t pc = c->reg(15);
        bool thumb = c->thumb();
        StopInfo s;
        switch (intno) {
        case kExcpSwi: // PC is past the SVC
            s.reason = StopReason::Svc;
            s.insn_size = thumb ? 2 : 4;
            s.pc = pc - s.insn_size;
            break;
        case kExcpSmc:
            s.reason = StopReason::Smc;
            s.insn_size = 4; // SMC is 32 bits in both instruction sets
            s.pc = pc - s.insn_size;
            break;
        case kExcpBkpt: // PC at the BKPT: a debug event, taken as a prefetch abort
            s.reason = StopReason::PrefetchAbort;
            s.pc = pc;
            s.fsr = fsc::DebugEvent;
            s.far_valid = false; // IFAR is UNKNOWN for debug events
            break;
        case kExcpDataAbort: // raised inside TCG: LDREX/STREX misalignment
            s = c->data_abort_from_insn(pc);
            break;
        case kExcpPrefetchAbort:
            s.reason = StopReason::PrefetchAbort;
            s.pc = pc;
            s.far = pc;
            s.fsr = fsc::TranslationSection;
            break;
        default:
            s.reason = StopReason::Error;
            s.pc = pc;
            s.uc_error = UC_ERR_EXCEPTION;
            spdlog::error("cpu{}: unexpected Unicorn exception {} at 0x{:08x}", c->index_, intno,
                          pc);
            break;
        }
        s.thumb = thumb;
        if (s.reason != StopReason::Error && s.reason != StopReason::DataAbort)
            c->fetch_insn(s.pc, thumb, s.insn, s.insn_size);
        c->stop_ = s;
        c->stopped_by_hook_ = true;
        uc_emu_stop(uc);
    }

    // A newly translated block: forget what we knew about the code at its address
    // (it may have been rewritten), so the block hook scans it again.
    static void new_tb(uc_engine*, uc_tb* cur, uc_tb*, void* ud) {
        auto* c = static_cast<ArmCore*>(ud);
        auto& e = c->thumb_counts_[(cur->pc >> 1) & (c->thumb_counts_.size() - 1)];
        if (e.addr == uint32_t(cur->pc))
            e.addr = ~0u;
    }

    static bool tlb_fill(uc_engine*, uint64_t vaddr, uc_mem_type type, uc_tlb_entry* e, void* ud) {
        auto* c = static_cast<ArmCore*>(ud);
        if (c == identity_fill_core) { // drop_translations() looking up physical pages
            e->paddr = vaddr;
            e->perms = UC_PROT_ALL;
            return true;
        }
        Access acc = type == UC_MEM_WRITE   ? Access::Write
                     : type == UC_MEM_FETCH ? Access::Fetch
                                            : Access::Read;
        bool priv = (c->mode() != uint32_t(CpuMode::Usr));
        Translation t = c->translate(uint32_t(vaddr), acc, priv);
        if (t.ok && c->bus_.strict_mmio() && !c->bus_.page_claimed(t.pa)) {
            t.ok = false;
            t.fsr = fsc::SyncExternal;
        }
        if (!t.ok) {
            c->tlb_fault_ = {true, uint32_t(vaddr), acc, t.fsr};
            return false;
        }
        e->paddr = t.pa;
        e->perms = static_cast<uc_prot>(t.perms);
        return true;
    }
};

ArmCore::ArmCore(unsigned index, VirtualClock& clock, Bus& bus, uint64_t counter_hz)
    : index_(index), clock_(clock), bus_(bus), timer_(index, clock, counter_hz) {}

ArmCore::~ArmCore() {
    if (monitor_ctx_)
        uc_context_free(monitor_ctx_);
    if (uc_)
        uc_close(uc_);
}

ErrorOr<void> ArmCore::init() {
    invalidate_reg_cache();
    if (uc_err e = uc_open(UC_ARCH_ARM, UC_MODE_ARM, &uc_))
        return Error{
            fmt::format("cpu{}: cannot create Unicorn engine: {}", index_, uc_strerror(e))};
    uc_ctl_set_cpu_model(uc_, UC_CPU_ARM_CORTEX_A7);
    // Our own translation-table walk (translate()) so faults carry exact status codes.
    uc_ctl_tlb_mode(uc_, UC_TLB_VIRTUAL);
    // With exits enabled and none set, uc_emu_start's `until` is ignored, so no
    // translated block is ever discarded for containing it (unicorn-facts.md).
    uc_ctl_exits_enable(uc_);
    TRY(bus_.map_into(uc_));

    uc_hook h;
    if (uc_hook_add(uc_, &block_hook_, UC_HOOK_BLOCK, reinterpret_cast<void*>(CoreHooks::block),
                    this, 1, 0) ||
        uc_hook_add(uc_, &h, UC_HOOK_INTR, reinterpret_cast<void*>(CoreHooks::intr), this, 1, 0) ||
        uc_hook_add(uc_, &h, UC_HOOK_TLB_FILL, reinterpret_cast<void*>(CoreHooks::tlb_fill), this,
                    1, 0))
        return Error{fmt::format("cpu{}: cannot install Unicorn hooks", index_)};

    // MPIDR as the guest reads it (VMPIDR, see Machine::reset_core_state):
    // multiprocessor format and the core number; the board sets the cluster.
    set_cp15(0, 4, 0, 5, 0x80000000u | index_);
    // HCR.TVM: guest writes to SCTLR and the other MMU control registers trap (as
    // undefined instructions, PC at the MCR) so that piemu sees them; HCR.TTLB: so do
    // TLB maintenance operations, which Unicorn would apply to 1 KiB only
    // (cp15_traps.cpp).
    set_cp15(1, 4, 1, 0, (1u << 26) | (1u << 25));
    // CNTHCTL = 0: PL1/PL0 accesses to the physical counter and timer trap (the
    // backstop of the c14 interception; the guest sees GenericTimer's CNTHCTL).
    set_cp15(14, 4, 1, 0, 0);
    sync_alignment_checking();
    uc_hook h2;
    if (uc_hook_add(uc_, &h2, UC_HOOK_EDGE_GENERATED, reinterpret_cast<void*>(CoreHooks::new_tb),
                    this, 1, 0))
        return Error{fmt::format("cpu{}: cannot install Unicorn hooks", index_)};
    return {};
}

namespace {
constexpr unsigned kCpsrSlot = 16; ///< reg_cache_'s CPSR entry
} // namespace

uint32_t ArmCore::reg(unsigned n) const {
    n &= 15;
    if (!in_emu_ && (reg_cached_ >> n) & 1)
        return reg_cache_[n];
    uint32_t v = 0;
    uc_reg_read(uc_, kRegIds[n], &v);
    if (!in_emu_) {
        reg_cache_[n] = v;
        reg_cached_ |= 1u << n;
    }
    return v;
}

void ArmCore::set_reg(unsigned n, uint32_t value) {
    n &= 15;
    if (n == 15)
        return set_pc(value, thumb());
    uc_reg_write(uc_, kRegIds[n], &value);
    if (!in_emu_) {
        reg_cache_[n] = value;
        reg_cached_ |= 1u << n;
    }
}

void ArmCore::set_pc(uint32_t addr, bool thumb) {
    uint32_t v = (addr & ~1u) | (thumb ? 1u : 0u);
    uc_reg_write(uc_, UC_ARM_REG_PC, &v);
    pc_moved_ = true;
    // PC as Unicorn reads it back, and CPSR.T, are Unicorn's to say.
    reg_cached_ &= ~((1u << 15) | (1u << kCpsrSlot));
}

uint32_t ArmCore::cpsr() const {
    if (!in_emu_ && (reg_cached_ >> kCpsrSlot) & 1)
        return reg_cache_[kCpsrSlot];
    uint32_t v = 0;
    uc_reg_read(uc_, UC_ARM_REG_CPSR, &v);
    if (!in_emu_) {
        reg_cache_[kCpsrSlot] = v;
        reg_cached_ |= 1u << kCpsrSlot;
    }
    return v;
}

uint32_t ArmCore::context(std::array<uint32_t, 16>& r) const {
    // The registers not cached yet in one call (a context switch reads them all, and
    // each uc_reg_read costs its own dispatch).
    std::array<int, 17> ids;
    std::array<void*, 17> ptrs;
    int n = 0;
    for (unsigned i = 0; i <= kCpsrSlot; ++i) {
        if ((reg_cached_ >> i) & 1 && !in_emu_)
            continue;
        ids[n] = i == kCpsrSlot ? UC_ARM_REG_CPSR : kRegIds[i];
        ptrs[n++] = &reg_cache_[i];
    }
    if (n)
        uc_reg_read_batch(uc_, ids.data(), ptrs.data(), n);
    reg_cached_ = in_emu_ ? 0 : (1u << (kCpsrSlot + 1)) - 1;
    std::copy(reg_cache_.begin(), reg_cache_.begin() + 16, r.begin());
    return reg_cache_[kCpsrSlot];
}

void ArmCore::set_context(const std::array<uint32_t, 16>& r, uint32_t cpsr) {
    // CPSR first (its mode banks r8-r14), then r0-r14, then PC with T in bit 0: in one
    // call.
    static std::array<int, 17> ids = [] {
        std::array<int, 17> a{UC_ARM_REG_CPSR};
        std::copy(std::begin(kRegIds), std::end(kRegIds), a.begin() + 1);
        return a;
    }();
    const bool thumb = r[15] & 1;
    std::array<uint32_t, 17> v;
    v[0] = (cpsr & ~psr::T) | (thumb ? psr::T : 0);
    std::copy(r.begin(), r.begin() + 15, v.begin() + 1);
    v[16] = r[15];
    std::array<void*, 17> ptrs;
    for (size_t i = 0; i < ptrs.size(); ++i)
        ptrs[i] = &v[i];
    uc_reg_write_batch(uc_, ids.data(), ptrs.data(), int(ptrs.size()));
    pc_moved_ = true;
    // r0-r14 are what was written; PC and CPSR as Unicorn reads them back are its to say.
    std::copy(r.begin(), r.begin() + 15, reg_cache_.begin());
    reg_cached_ = in_emu_ ? 0 : (1u << 15) - 1;
}

void ArmCore::set_cpsr(uint32_t value) {
    uc_reg_write(uc_, UC_ARM_REG_CPSR, &value);
    invalidate_reg_cache(); // a mode change switches the banked registers
}

uint32_t ArmCore::spsr() const {
    uint32_t v = 0;
    uc_reg_read(uc_, UC_ARM_REG_SPSR, &v);
    return v;
}

void ArmCore::set_spsr(uint32_t value) {
    uc_reg_write(uc_, UC_ARM_REG_SPSR, &value);
}

template <typename F>
auto ArmCore::in_mode(CpuMode m, F&& f) {
    // Writing CPSR.M switches Unicorn's banked SP/LR/SPSR; PC is restored with the
    // Thumb state it had (a PC write carries T in bit 0).
    uint32_t old = cpsr(), pc_save = pc();
    set_cpsr((old & ~psr::M) | uint32_t(m));
    auto result = f();
    set_cpsr(old);
    set_pc(pc_save, old & psr::T);
    return result;
}

uint32_t ArmCore::banked_sp(CpuMode m) {
    return in_mode(m, [&] { return reg(13); });
}

uint32_t ArmCore::banked_reg(CpuMode m, unsigned n) {
    return in_mode(m, [&] { return reg(n); });
}

uint32_t ArmCore::banked_lr(CpuMode m) {
    return in_mode(m, [&] { return reg(14); });
}

uint32_t ArmCore::banked_spsr(CpuMode m) {
    return in_mode(m, [&] { return spsr(); });
}

void ArmCore::set_banked_sp(CpuMode m, uint32_t value) {
    in_mode(m, [&] {
        set_reg(13, value);
        return 0;
    });
}

uint32_t ArmCore::cp15(unsigned crn, unsigned opc1, unsigned crm, unsigned opc2) const {
    uc_arm_cp_reg r{};
    r.cp = 15;
    r.crn = crn;
    r.opc1 = opc1;
    r.crm = crm;
    r.opc2 = opc2;
    uc_reg_read(uc_, UC_ARM_REG_CP_REG, &r);
    return uint32_t(r.val);
}

const ArmCore::MmuRegs& ArmCore::mmu_regs() const {
    if (!mmu_regs_valid_) {
        mmu_regs_ = {cp15(1, 0, 0, 0), cp15(2, 0, 0, 2), cp15(2, 0, 0, 0), cp15(2, 0, 0, 1),
                     cp15(3, 0, 0, 0)};
        mmu_regs_valid_ = true;
    }
    return mmu_regs_;
}

void ArmCore::set_cp15(unsigned crn, unsigned opc1, unsigned crm, unsigned opc2, uint32_t value) {
    mmu_regs_valid_ = false; // any cp15 write: rare, so no need to tell which
    uc_arm_cp_reg r{};
    r.cp = 15;
    r.crn = crn;
    r.opc1 = opc1;
    r.crm = crm;
    r.opc2 = opc2;
    r.val = value;
    uc_reg_write(uc_, UC_ARM_REG_CP_REG, &r);
    if (crn == 1 && opc1 == 0 && crm == 0 && opc2 == 0)
        sync_alignment_checking();
}

void ArmCore::take_exception(ExceptionType type, uint32_t preferred_return, bool from_thumb) {
    // ARM ARM B1.8.3, table B1-7 (LR offsets) and B1-6 (mask bits), for a core
    // without Security Extensions as the guest sees it.
    CpuMode mode = CpuMode::Svc;
    uint32_t lr_offset = 0;
    uint32_t mask = psr::I;
    switch (type) {
    case ExceptionType::Reset:
        mode = CpuMode::Svc;
        mask = psr::A | psr::I | psr::F;
        break;
    case ExceptionType::Undefined:
        mode = CpuMode::Und;
        lr_offset = from_thumb ? 2 : 4;
        break;
    case ExceptionType::Svc:
        mode = CpuMode::Svc;
        lr_offset = from_thumb ? 2 : 4;
        break;
    case ExceptionType::PrefetchAbort:
        mode = CpuMode::Abt;
        lr_offset = 4;
        mask = psr::A | psr::I;
        break;
    case ExceptionType::DataAbort:
        mode = CpuMode::Abt;
        lr_offset = 8;
        mask = psr::A | psr::I;
        break;
    case ExceptionType::Irq:
        mode = CpuMode::Irq;
        lr_offset = 4;
        mask = psr::A | psr::I;
        break;
    case ExceptionType::Fiq:
        mode = CpuMode::Fiq;
        lr_offset = 4;
        mask = psr::A | psr::I | psr::F;
        break;
    }
    uint32_t sctlr_v = sctlr();
    uint32_t old = cpsr();
    uint32_t next = (old & ~(psr::M | psr::T | psr::IT | psr::E | psr::J)) | uint32_t(mode) | mask;
    if (sctlr_v & (1u << 30)) // SCTLR.TE: exceptions taken in Thumb state
        next |= psr::T;
    if (sctlr_v & (1u << 25)) // SCTLR.EE: big-endian exception entry
        next |= psr::E;
    set_cpsr(next); // switches the banked SP/LR/SPSR
    set_spsr(old);
    set_reg(14, preferred_return + lr_offset);
    uint32_t base = (sctlr_v & (1u << 13)) ? 0xffff0000u : (cp15(12, 0, 0, 0) & ~0x1fu);
    set_pc(base + exc_vector_offset(type), next & psr::T);
}

void ArmCore::take_abort(const StopInfo& f) {
    if (f.reason == StopReason::DataAbort) {
        set_cp15(5, 0, 0, 0, f.fsr); // DFSR
        set_cp15(6, 0, 0, 0, f.far); // DFAR
        take_exception(ExceptionType::DataAbort, f.pc, f.thumb);
    } else {
        set_cp15(5, 0, 0, 1, f.fsr); // IFSR
        if (f.far_valid)
            set_cp15(6, 0, 0, 2, f.far); // IFAR
        take_exception(ExceptionType::PrefetchAbort, f.pc, f.thumb);
    }
}

void ArmCore::set_irq_input(unsigned input, bool level) {
    bool& line = input == kFiqInput ? fiq_line_ : irq_line_;
    if (level && !line)
        (input == kFiqInput ? fiq_raised_at_ : irq_raised_at_) = clock_.now();
    line = level;
    if (level)
        clock_.request_attention();
}

uint64_t ArmCore::line_raised_at() const {
    uint64_t at = VirtualClock::kNever;
    if (irq_line_)
        at = irq_raised_at_;
    if (fiq_line_)
        at = std::min(at, fiq_raised_at_);
    return at;
}

uint64_t ArmCore::unmasked_line_raised_at() const {
    uint32_t c = cpsr();
    uint64_t at = VirtualClock::kNever;
    if (irq_line_ && !(c & psr::I))
        at = irq_raised_at_;
    if (fiq_line_ && !(c & psr::F))
        at = std::min(at, fiq_raised_at_);
    return at;
}

bool ArmCore::interrupt_unmasked() const {
    // A line held high while masked is taken once the guest unmasks it (CPS, MSR
    // and exception returns end Unicorn's translation block, so the next block
    // boundary is the next instruction).
    uint32_t c = cpsr();
    const uint64_t now = clock_.now();
    return (fiq_line_ && fiq_raised_at_ <= now && !(c & psr::F)) ||
           (irq_line_ && irq_raised_at_ <= now && !(c & psr::I));
}

std::optional<ExceptionType> ArmCore::deliver_interrupts() {
    const uint64_t now = clock_.now();
    const bool fiq = fiq_line_ && fiq_raised_at_ <= now;
    const bool irq = irq_line_ && irq_raised_at_ <= now;
    if (!irq && !fiq)
        return std::nullopt;
    uint32_t c = cpsr();
    // FIQ has priority over IRQ (ARM ARM B1.8.1).
    ExceptionType t;
    if (fiq && !(c & psr::F))
        t = ExceptionType::Fiq;
    else if (irq && !(c & psr::I))
        t = ExceptionType::Irq;
    else
        return std::nullopt;
    take_exception(t, pc(), c & psr::T);
    return t;
}

bool ArmCore::fetch_insn(uint32_t pc, bool thumb, uint32_t& insn, unsigned& size) const {
    auto read = [this](uint32_t va, std::span<uint8_t> out) {
        uint32_t off = va - block_bytes_va_;
        if (off < block_bytes_len_ && out.size() <= block_bytes_len_ - off) {
            std::memcpy(out.data(), block_bytes_.data() + off, out.size());
            return true;
        }
        return read_virt(va, out);
    };
    if (!thumb) {
        uint8_t b[4];
        if (!read(pc, b))
            return false;
        std::memcpy(&insn, b, 4);
        size = 4;
        return true;
    }
    uint8_t h[2];
    if (!read(pc, h))
        return false;
    uint32_t hw1 = h[0] | (h[1] << 8);
    if ((hw1 >> 11) >= 0x1d) { // 0b11101, 0b11110, 0b11111: a 32-bit Thumb-2 encoding
        if (!read(pc + 2, h))
            return false;
        insn = (hw1 << 16) | h[0] | (h[1] << 8);
        size = 4;
    } else {
        insn = hw1;
        size = 2;
    }
    return true;
}

namespace {
/// A fingerprint of a block's bytes and instruction set (FNV-1a over 32-bit words).
uint64_t block_hash(const uint8_t* p, uint32_t size, bool thumb) {
    uint64_t h = thumb ? 0x84222325cbf29ce4ull : 0xcbf29ce484222325ull;
    uint32_t i = 0;
    for (; i + 4 <= size; i += 4) {
        uint32_t w;
        std::memcpy(&w, p + i, 4);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < size; ++i)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}
} // namespace

unsigned ArmCore::count_block(uint64_t addr, uint32_t size) {
    const size_t slot = (addr >> 1) & (thumb_counts_.size() - 1);
    BlockCount& e = thumb_counts_[slot];
    if (e.addr == uint32_t(addr) && e.size == size)
        return e.count;
    unsigned n;
    bool t = thumb();
    // A miss is taken at the start of every run (run() forgets the first block):
    // read the block once for the scans below.
    bool have_bytes = false;
    if (size <= block_bytes_.size() &&
        read_virt(uint32_t(addr), std::span<uint8_t>(block_bytes_.data(), size))) {
        block_bytes_va_ = uint32_t(addr);
        block_bytes_len_ = size;
        have_bytes = true;
    }
    const uint64_t hash = have_bytes ? block_hash(block_bytes_.data(), size, t) : 0;
    const BlockCount first = std::exchange(first_saved_, BlockCount{});
    if (have_bytes && first.addr == uint32_t(addr) && first.size == size &&
        first_saved_hash_ == hash) {
        // The run's first block, as counted and scanned before with the same bytes:
        // its c14 and hint instructions have their hooks already.
        block_bytes_len_ = 0;
        e = first;
        return e.count;
    }
    block_hash_[slot] = hash;
    scan_block_for_c14(uint32_t(addr), size, t);
    if (!t) {
        n = size / 4;
    } else {
        n = 0;
        for (uint32_t off = 0; off < size;) {
            uint32_t insn;
            unsigned sz = 2;
            if (!fetch_insn(uint32_t(addr) + off, true, insn, sz))
                sz = 2;
            off += sz;
            ++n;
        }
    }
    // With exception returns watched: does the block end in one? (An exception return
    // writes PC, so it can only be a block's last instruction.)
    bool eret = false;
    if (eret_fn_) {
        uint32_t end = uint32_t(addr) + size, insn = 0;
        unsigned sz = 0;
        if (fetch_insn(end - 4, t, insn, sz) && sz == 4)
            eret = is_exception_return(insn, 4, t);
        else if (t && fetch_insn(end - 2, t, insn, sz) && sz == 2)
            eret = is_exception_return(insn, 2, t);
    }
    block_bytes_len_ = 0;
    e = {uint32_t(addr), size, n, eret};
    return n;
}

void ArmCore::watch_exception_returns(std::function<void(uint32_t, uint32_t)> fn) {
    if (eret_fn_ || !fn)
        return;
    eret_fn_ = std::move(fn);
    uc_hook_del(uc_, block_hook_);
    uc_hook_add(uc_, &block_hook_, UC_HOOK_BLOCK, reinterpret_cast<void*>(CoreHooks::block_eret),
                this, 1, 0);
    // Blocks counted so far were not classified: count them again.
    for (auto& e : thumb_counts_)
        e.addr = ~0u;
    first_saved_ = {};
}

uint32_t ArmCore::begin_run() {
    stop_ = {};
    eret_pending_ = false; // a stop breaks the chain of blocks (the host may move PC)
    stopped_by_hook_ = false;
    block_stop_ = false;
    tlb_fault_.valid = false;
    watch_hit_.reset();
    first_block_ = true;
    install_pending_hooks();
    const uint32_t start = pc();
    run_start_pc_ = start;
    skip_bp_pc_ = std::exchange(skip_bp_, false) ? start : ~0u;
    return start;
}

StopInfo ArmCore::run() {
    if (step_hook_) {
        // Back to full speed: no per-instruction hook in the translated code.
        uc_hook_del(uc_, step_hook_);
        step_hook_ = 0;
        drop_translations();
    }
    const uint32_t start = begin_run();
    const bool t = thumb();
    // The first block of a run gets no new-TB notification: look at it afresh. (So
    // that it takes the hook's slow path, which knows about first_block_; count_block
    // takes the entry back if the block's bytes are the ones it scanned.)
    const size_t slot = (start >> 1) & (thumb_counts_.size() - 1);
    first_saved_ = std::exchange(thumb_counts_[slot], BlockCount{});
    first_saved_hash_ = block_hash_[slot];
    // A line held high while masked: the hook must look at CPSR after every block.
    if (irq_line_ || fiq_line_)
        clock_.force_check();
    invalidate_reg_cache();
    in_emu_ = true;
    uc_err err = uc_emu_start(uc_, start | (t ? 1 : 0), 0, 0, 0);
    in_emu_ = false;
    return finish_run(err, t);
}

namespace {
/// `cpsr` with ITSTATE `it` (the inverse of itstate()).
uint32_t with_itstate(uint32_t cpsr, uint32_t it) {
    return (cpsr & ~psr::IT) | ((it & 3) << 25) | ((it & 0xfc) << 8);
}
} // namespace

StopInfo ArmCore::step() {
    for (;;) {
        const uint32_t start = begin_run();
        const bool t = thumb();
        uint32_t insn = 0;
        unsigned size = 0;
        bool have = fetch_insn(start, t, insn, size);
        // Unicorn runs a Thumb IT block as one unit: no stop request is honoured
        // inside it. So step() executes IT itself (it only sets ITSTATE), and runs
        // each instruction of the block as if it were the block's last, then puts
        // back the ITSTATE the next one needs.
        uint32_t it = t ? itstate(cpsr()) : 0;
        if (t && have && size == 2 && (insn & 0xff00) == 0xbf00 && (insn & 0xf) != 0) {
            StopInfo s;
            s.thumb = true;
            if (has_breakpoint(start) && skip_bp_pc_ != start) {
                s.reason = StopReason::Breakpoint;
                s.pc = start;
                s.insn = insn;
                s.insn_size = 2;
                return s;
            }
            set_cpsr(with_itstate(cpsr(), insn & 0xff));
            set_pc(start + 2, true);
            insns_ += 1;
            clock_.advance(1);
            s.pc = start + 2;
            return s;
        }
        bool in_it = (it & 0xf) != 0;
        if (in_it && !condition_passed(it >> 4, cpsr())) {
            // Nor does it count an instruction whose IT condition fails: skip it here.
            StopInfo s;
            s.thumb = true;
            if (has_breakpoint(start) && skip_bp_pc_ != start) {
                s.reason = StopReason::Breakpoint;
                s.pc = start;
                s.insn = insn;
                s.insn_size = size;
                return s;
            }
            set_cpsr(it_advance(cpsr()));
            set_pc(start + size, true);
            insns_ += 1;
            clock_.advance(1);
            s.pc = start + size;
            return s;
        }
        if (in_it)
            set_cpsr(with_itstate(cpsr(), (it & 0xf0) | 0x08));
        thumb_counts_[(start >> 1) & (thumb_counts_.size() - 1)].addr = ~0u;
        // Every block hook takes the slow path, which counts nothing while stepping.
        clock_.force_check();
        if (!step_hook_) {
            // Our own per-instruction hook rather than Unicorn's count=1, which also
            // runs the first instruction of the block a branch goes to.
            uc_hook_add(uc_, &step_hook_, UC_HOOK_CODE, reinterpret_cast<void*>(step_hook), this, 1,
                        0);
            drop_translations();
        }
        step_seen_ = 0;
        step_stopped_ = false;
        stepping_ = true;
        invalidate_reg_cache();
        in_emu_ = true;
        uc_err err = uc_emu_start(uc_, start | (t ? 1 : 0), 0, 0, 0);
        in_emu_ = false;
        stepping_ = false;
        clock_.force_check();
        if (step_stopped_ && !stopped_by_hook_ && !tlb_fault_.valid)
            set_pc(step_stop_pc_, thumb());
        if (block_stop_ && !stopped_by_hook_ && !tlb_fault_.valid && err == UC_ERR_OK &&
            pc() == start) {
            // The block holds c14 instructions whose hooks are installed now: again.
            if (in_it)
                set_cpsr(with_itstate(cpsr(), it));
            set_pc(start, t);
            skip_bp_ = skip_bp_pc_ == start;
            continue;
        }
        StopInfo s = finish_run(err, t);
        bool executed = false;
        switch (s.reason) {
        case StopReason::Yield:
        case StopReason::Svc:
        case StopReason::Smc:
        case StopReason::Watchpoint:
            executed = true;
            break;
        case StopReason::Wfi:
        case StopReason::Wfe:
            executed = true;
            break;
        default:
            break;
        }
        if (s.reason == StopReason::Yield && have) {
            // finish_run() looked for a WFI behind PC; here we know the instruction.
            bool wfi =
                t ? (insn == 0xbf30 || insn == 0xf3af8003) : ((insn & 0x0fffffff) == 0x0320f003);
            if (wfi) {
                s.reason = StopReason::Wfi;
                s.pc = start;
                s.insn = insn;
                s.insn_size = size;
            } else {
                s.pc = pc();
                s.thumb = thumb();
            }
        }
        if (in_it)
            set_cpsr(executed ? it_advance(with_itstate(cpsr(), it)) : with_itstate(cpsr(), it));
        if (executed) {
            insns_ += 1;
            clock_.advance(1);
            if (eret_fn_ && have && is_exception_return(insn, size, t))
                eret_fn_(pc(), cpsr());
        }
        return s;
    }
}

StopInfo ArmCore::finish_run(int e, bool t) {
    uc_err err = static_cast<uc_err>(e);
    uint32_t now_pc = pc();

    if (tlb_fault_.valid) {
        // A refused TLB fill: PC was restored to the faulting instruction.
        StopInfo s;
        s.thumb = thumb();
        if (tlb_fault_.access == Access::Fetch) {
            s.reason = StopReason::PrefetchAbort;
            s.pc = now_pc;
            // The fetch that faulted may be the second halfword of a Thumb-2
            // instruction crossing into the page; IFAR is the faulting address.
            s.far = (now_pc & ~0x3ffu) == tlb_fault_.va ? now_pc : tlb_fault_.va;
            s.fsr = tlb_fault_.fsr;
        } else {
            s.reason = StopReason::DataAbort;
            s.pc = now_pc;
            fetch_insn(now_pc, s.thumb, s.insn, s.insn_size);
            // The walk saw only the 1 KiB page; the decoded address gives the byte.
            // An access that starts below the page faults at the page's first byte.
            MemAccessInfo m = decode_mem_access(*this, now_pc, s.thumb);
            s.far = (m.valid && (m.address & ~0x3ffu) == tlb_fault_.va) ? m.address : tlb_fault_.va;
            s.fsr = tlb_fault_.fsr | (tlb_fault_.access == Access::Write ? fsc::WnR : 0);
        }
        tlb_fault_.valid = false;
        return s;
    }
    if (stopped_by_hook_) {
        // Stopped before the instruction at stop_.pc: Unicorn's PC may be stale.
        if (stop_.reason == StopReason::Breakpoint || stop_.reason == StopReason::Watchpoint ||
            stop_.reason == StopReason::Yield) // Yield: the code trap's
            set_pc(stop_.pc, stop_.thumb);
        return stop_;
    }
    if (watch_hit_ && err == UC_ERR_OK) {
        // The watched access was the last instruction this run executed.
        StopInfo s = *watch_hit_;
        watch_hit_.reset();
        s.pc = now_pc;
        s.thumb = thumb();
        return s;
    }
    switch (err) {
    case UC_ERR_OK: {
        StopInfo s;
        s.pc = now_pc;
        s.thumb = t = thumb();
        if (block_stop_ && !stepping_ && now_pc != block_stop_pc_) {
            // Unicorn's PC is stale (a UC_HOOK_CODE exists): resume where the hook
            // stopped, at the start of a block none of which ran.
            set_pc(block_stop_pc_, t);
            s.pc = block_stop_pc_;
        }
        if (block_stop_ || stepping_)
            return s; // Yield: our block hook stopped at a block start
        // Otherwise WFI ended the run, with PC after it.
        uint32_t prev;
        unsigned sz;
        for (unsigned back : {4u, 2u}) {
            if (back == 2 && !t)
                continue;
            if (!fetch_insn(now_pc - back, t, prev, sz) || sz != back)
                continue;
            bool wfi =
                t ? (prev == 0xbf30 || prev == 0xf3af8003) : ((prev & 0x0fffffff) == 0x0320f003);
            if (wfi) {
                s.reason = StopReason::Wfi;
                s.pc = now_pc - back;
                s.insn = prev;
                s.insn_size = back;
                return s;
            }
        }
        return s;
    }
    case UC_ERR_INSN_INVALID:
        return classify_invalid(now_pc);
    case UC_ERR_FETCH_UNMAPPED:
    case UC_ERR_FETCH_PROT: {
        // An instruction fetch from a physical address with no memory behind it (no
        // RAM, or a device window, which cannot be executed): a synchronous external
        // abort on the fetch, a prefetch abort for the guest, as on the hardware.
        StopInfo s;
        s.reason = StopReason::PrefetchAbort;
        s.pc = now_pc;
        s.thumb = thumb();
        s.far = now_pc;
        s.fsr = fsc::SyncExternal;
        return s;
    }
    default: {
        StopInfo s;
        s.reason = StopReason::Error;
        s.pc = now_pc;
        s.thumb = thumb();
        s.uc_error = err;
        return s;
    }
    }
}

// ---- the code trap

void ArmCore::set_code_trap(uint32_t begin, uint32_t end,
                            std::function<TrapAction(ArmCore&, uint32_t)> fn) {
    if (trap_hook_)
        uc_hook_del(uc_, trap_hook_);
    trap_hook_ = 0;
    trap_fn_ = std::move(fn);
    if (trap_fn_ && begin < end)
        uc_hook_add(uc_, &trap_hook_, UC_HOOK_CODE, reinterpret_cast<void*>(trap_hook), this, begin,
                    end - 1);
    // Code translated before the hook was added does not call it.
    uc_ctl_remove_cache(uc_, begin, end);
}

void ArmCore::trap_hook(uc_engine* uc, uint64_t addr, uint32_t, void* ud) {
    auto* c = static_cast<ArmCore*>(ud);
    if (c->stopped_by_hook_ || c->stepping_ || c->has_breakpoint(uint32_t(addr)))
        return;
    // Nothing of the guest runs until the function returns: the register cache holds.
    c->invalidate_reg_cache();
    c->in_emu_ = false;
    c->pc_moved_ = false;
    TrapAction a = c->trap_fn_(*c, uint32_t(addr));
    const bool moved = c->pc_moved_;
    c->invalidate_reg_cache();
    c->in_emu_ = true;
    if (a == TrapAction::Decline || (a == TrapAction::Continue && moved))
        return; // a PC write makes Unicorn abandon this instruction and go on there
    if (moved) {
        // A PC write also cancels uc_emu_stop() (Unicorn resumes after it): stop at
        // the start of the next block instead, before any of it runs.
        c->clock_.request_attention();
        return;
    }
    StopInfo s;
    s.reason = StopReason::Yield;
    s.pc = uint32_t(addr);
    s.thumb = c->thumb();
    c->stop_ = s;
    c->stopped_by_hook_ = true;
    uc_emu_stop(uc);
}

// ---- debugger breakpoints and watchpoints

void ArmCore::step_hook(uc_engine* uc, uint64_t addr, uint32_t, void* ud) {
    auto* c = static_cast<ArmCore*>(ud);
    if (!c->stepping_ || c->stopped_by_hook_ || c->step_seen_++ == 0)
        return; // not stepping, stopped already, or the instruction being stepped
    c->step_stop_pc_ = uint32_t(addr);
    c->step_stopped_ = true;
    uc_emu_stop(uc);
}

void ArmCore::breakpoint_hook(uc_engine* uc, uint64_t addr, uint32_t, void* ud) {
    auto* c = static_cast<ArmCore*>(ud);
    if (c->stopped_by_hook_)
        return;
    if (uint32_t(addr) == c->skip_bp_pc_) {
        c->skip_bp_pc_ = ~0u; // resuming from this breakpoint: only the first time
        return;
    }
    StopInfo s;
    s.reason = StopReason::Breakpoint;
    s.pc = uint32_t(addr);
    s.thumb = c->thumb();
    c->fetch_insn(s.pc, s.thumb, s.insn, s.insn_size);
    c->stop_ = s;
    c->stopped_by_hook_ = true;
    uc_emu_stop(uc); // before the instruction runs (Unicorn checks after code hooks)
}

void ArmCore::add_breakpoint(uint32_t addr) {
    addr &= ~1u;
    if (breakpoints_.count(addr))
        return;
    uc_hook h = 0;
    if (uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(breakpoint_hook), this, addr,
                    addr) == UC_ERR_OK)
        breakpoints_[addr] = h;
    // Code translated before the hook was added does not call it.
    uc_ctl_remove_cache(uc_, addr, addr + 4);
}

void ArmCore::remove_breakpoint(uint32_t addr) {
    addr &= ~1u;
    auto it = breakpoints_.find(addr);
    if (it == breakpoints_.end())
        return;
    uc_hook_del(uc_, it->second);
    breakpoints_.erase(it);
    uc_ctl_remove_cache(uc_, addr, addr + 4);
}

bool ArmCore::watch_hook(uc_engine*, int type, uint64_t addr, int size, int64_t, void* ud) {
    auto* c = static_cast<ArmCore*>(ud);
    if (c->watch_hit_ || c->stopped_by_hook_)
        return true;
    bool write = type == UC_MEM_WRITE;
    uint32_t lo = uint32_t(addr), hi = uint32_t(addr) + uint32_t(size) - 1;
    for (const Watchpoint& w : c->watchpoints_) {
        if (hi < w.addr || lo > w.addr + w.len - 1)
            continue;
        if ((w.kind == WatchKind::Write && !write) || (w.kind == WatchKind::Read && write))
            continue;
        StopInfo s;
        s.reason = StopReason::Watchpoint;
        s.far = std::max(lo, w.addr);
        s.watch = w.kind == WatchKind::Access ? WatchKind::Access
                  : write                     ? WatchKind::Write
                                              : WatchKind::Read;
        c->watch_hit_ = s;
        break;
    }
    return true;
}

void ArmCore::watch_code_hook(uc_engine* uc, uint64_t addr, uint32_t, void* ud) {
    // Runs before every instruction while watchpoints exist: the instruction before
    // this one made a watched access.
    auto* c = static_cast<ArmCore*>(ud);
    if (!c->watch_hit_ || c->stopped_by_hook_)
        return;
    StopInfo s = *c->watch_hit_;
    c->watch_hit_.reset();
    s.pc = uint32_t(addr);
    s.thumb = c->thumb();
    c->stop_ = s;
    c->stopped_by_hook_ = true;
    uc_emu_stop(uc);
}

void ArmCore::sync_watch_hooks() {
    for (size_t h : watch_hooks_)
        uc_hook_del(uc_, h);
    watch_hooks_.clear();
    for (const Watchpoint& w : watchpoints_) {
        uc_hook h = 0;
        int types = w.kind == WatchKind::Write  ? UC_HOOK_MEM_WRITE
                    : w.kind == WatchKind::Read ? UC_HOOK_MEM_READ
                                                : (UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE);
        // Unicorn bounds a memory hook by the access's first byte only: start early
        // enough for the widest access (8 bytes) that ends inside the range.
        // watch_hook checks the overlap itself.
        uint64_t first = w.addr >= 7 ? w.addr - 7 : 0;
        if (uc_hook_add(uc_, &h, types, reinterpret_cast<void*>(watch_hook), this, first,
                        uint64_t(w.addr) + w.len - 1) == UC_ERR_OK)
            watch_hooks_.push_back(h);
    }
    if (!watchpoints_.empty()) {
        uc_hook h = 0;
        if (uc_hook_add(uc_, &h, UC_HOOK_CODE, reinterpret_cast<void*>(watch_code_hook), this, 1,
                        0) == UC_ERR_OK)
            watch_hooks_.push_back(h);
    }
    // Translated code keeps the hooks it was translated with (gdb removes and inserts
    // watchpoints around every step it takes over one).
    drop_translations();
}

void ArmCore::flush_tlb() {
    uc_ctl_flush_tlb(uc_);
}

void ArmCore::drop_translations() {
    // RAM-like regions are the only code. uc_ctl_remove_cache takes virtual addresses
    // and finds their code through Unicorn's TLB and piemu's tlb_fill (the guest's
    // tables once its MMU is on, where most of RAM's physical addresses are unmapped
    // or elsewhere and a walk's fault would be taken for the guest's). So tlb_fill
    // maps virtual = physical while the ranges are dropped, with Unicorn's TLB flushed
    // before and after. This costs ~4 ms for 1 GiB; uc_ctl_flush_tb costs ~0.6 s.
    uc_ctl_flush_tlb(uc_);
    identity_fill_core = this;
    for (auto [begin, end] : bus_.memory_ranges())
        uc_ctl_remove_cache(uc_, begin, end);
    identity_fill_core = nullptr;
    uc_ctl_flush_tlb(uc_);
}

void ArmCore::add_watchpoint(uint32_t addr, uint32_t len, WatchKind kind) {
    if (len == 0)
        len = 1;
    Watchpoint w{addr, len, kind};
    if (std::find(watchpoints_.begin(), watchpoints_.end(), w) != watchpoints_.end())
        return;
    watchpoints_.push_back(w);
    sync_watch_hooks();
}

void ArmCore::remove_watchpoint(uint32_t addr, uint32_t len, WatchKind kind) {
    if (len == 0)
        len = 1;
    auto it = std::find(watchpoints_.begin(), watchpoints_.end(), Watchpoint{addr, len, kind});
    if (it == watchpoints_.end())
        return;
    watchpoints_.erase(it);
    sync_watch_hooks();
}

} // namespace piemu
