// The stepper (stepper.hpp): step views of the core, the exception path and the
// kernel model's C++.
#include "debug/stepper.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>

#include <capstone/capstone.h>
#include <fmt/format.h>
#include <unicorn/unicorn.h>

#include "cpu/insn_decode.hpp"
#include "kernel/guest_format.hpp"
#include "kernel/vector_page.hpp"
#include "piemu/arm_core.hpp"
#include "piemu/guest_abi.h"
#include "piemu/loader.hpp"

namespace piemu::debug {

namespace {

/// The modes whose banked sp/lr/spsr a snapshot holds, in Snapshot order.
constexpr CpuMode kBankModes[6] = {CpuMode::Sys, CpuMode::Fiq, CpuMode::Irq,
                                   CpuMode::Svc, CpuMode::Abt, CpuMode::Und};
constexpr const char* kBankNames[6] = {"usr", "fiq", "irq", "svc", "abt", "und"};

/// Snapshot bank of a mode (usr and sys share one).
int bank_of(uint32_t mode) {
    switch (mode & psr::M) {
    case 0x10:
    case 0x1f:
        return 0;
    case 0x11:
        return 1;
    case 0x12:
        return 2;
    case 0x13:
        return 3;
    case 0x17:
        return 4;
    case 0x1b:
        return 5;
    }
    return 0;
}

/// struct pt_regs member names (arch/arm/include/uapi/asm/ptrace.h), by word.
constexpr const char* kPtRegs[18] = {
    "ARM_r0", "ARM_r1", "ARM_r2", "ARM_r3", "ARM_r4",   "ARM_r5",
    "ARM_r6", "ARM_r7", "ARM_r8", "ARM_r9", "ARM_r10",  "ARM_fp",
    "ARM_ip", "ARM_sp", "ARM_lr", "ARM_pc", "ARM_cpsr", "ARM_ORIG_r0",
};

const char* exception_title(ExceptionType t) {
    switch (t) {
    case ExceptionType::Reset:
        return "Reset";
    case ExceptionType::Undefined:
        return "Undefined Instruction";
    case ExceptionType::Svc:
        return "SVC";
    case ExceptionType::PrefetchAbort:
        return "Prefetch Abort";
    case ExceptionType::DataAbort:
        return "Data Abort";
    case ExceptionType::Irq:
        return "IRQ";
    case ExceptionType::Fiq:
        return "FIQ";
    }
    return "?";
}

std::optional<unsigned> exception_break_bit(const std::string& s) {
    if (s == "irq")
        return 1u << int(ExceptionType::Irq);
    if (s == "fiq")
        return 1u << int(ExceptionType::Fiq);
    if (s == "svc" || s == "swi")
        return 1u << int(ExceptionType::Svc);
    if (s == "abort")
        return (1u << int(ExceptionType::DataAbort)) | (1u << int(ExceptionType::PrefetchAbort));
    if (s == "undef")
        return 1u << int(ExceptionType::Undefined);
    return std::nullopt;
}

/// The address after a call instruction (BL, BLX) at pc, or nothing.
std::optional<uint32_t> call_return(uint32_t insn, unsigned size, bool thumb, uint32_t pc) {
    if (!thumb) {
        if ((insn & 0x0f000000) == 0x0b000000 && (insn >> 28) != 0xf) // BL
            return pc + 4;
        if ((insn & 0xfe000000) == 0xfa000000) // BLX imm
            return pc + 4;
        if ((insn & 0x0ffffff0) == 0x012fff30) // BLX reg
            return pc + 4;
        return std::nullopt;
    }
    if (size == 4 && (insn & 0xf800c000) == 0xf000c000) // BL, BLX imm (T1/T2)
        return pc + 4;
    if (size == 2 && (insn & 0xff87) == 0x4780) // BLX reg
        return pc + 2;
    return std::nullopt;
}

std::string hex32(uint32_t v) {
    return fmt::format("0x{:08x}", v);
}

/// The arguments of a gate's C function as the kernel names them (r0-r3).
std::string gate_args(std::string_view gate, const std::array<uint32_t, 8>& r) {
    struct Params {
        std::string_view fn;
        std::array<const char*, 4> names;
    };
    static constexpr Params kParams[] = {
        {"bcm2836_arm_irqchip_handle_irq", {"regs"}},
        {"do_DataAbort", {"addr", "fsr", "regs"}},
        {"do_PrefetchAbort", {"addr", "ifsr", "regs"}},
        {"do_undefinstr", {"regs"}},
        {"bad_mode", {"regs", "reason"}},
        {"do_work_pending", {"regs", "thread_flags", "syscall"}},
        {"preempt_schedule_irq", {}},
        {"schedule_idle", {}},
        {"do_exit", {"code"}},
    };
    const Params* p = nullptr;
    for (const auto& k : kParams)
        if (k.fn == gate)
            p = &k;
    std::string out;
    for (unsigned i = 0; i < 4; ++i) {
        const char* name = p ? p->names[i] : nullptr;
        if (p && !name)
            break;
        if (i)
            out += ", ";
        out +=
            name ? fmt::format("{}={}", name, hex32(r[i])) : fmt::format("r{}={}", i, hex32(r[i]));
    }
    return out;
}

} // namespace

std::string disassemble(std::span<const uint8_t> bytes, uint32_t addr, bool thumb, uint32_t itstate,
                        unsigned* size) {
    csh h;
    if (cs_open(CS_ARCH_ARM, thumb ? CS_MODE_THUMB : CS_MODE_ARM, &h) != CS_ERR_OK)
        return {};
    std::string text;
    std::vector<uint8_t> buf;
    uint32_t at = addr;
    bool in_it = thumb && (itstate & 0xf) != 0;
    if (in_it) {
        // Capstone prints an instruction's IT condition only after the IT that opens
        // the block: put "IT <cond>" (a block of one) in front of it.
        uint16_t it = uint16_t(0xbf00 | (itstate & 0xf0) | 0x08);
        buf = {uint8_t(it), uint8_t(it >> 8)};
        at -= 2;
    }
    buf.insert(buf.end(), bytes.begin(), bytes.end());
    cs_insn* insn = nullptr;
    size_t n = cs_disasm(h, buf.data(), buf.size(), at, in_it ? 2 : 1, &insn);
    size_t want = in_it ? 1 : 0;
    if (n > want) {
        text = insn[want].mnemonic;
        if (insn[want].op_str[0])
            text += std::string(" ") + insn[want].op_str;
        if (size)
            *size = insn[want].size;
    }
    if (n)
        cs_free(insn, n);
    cs_close(&h);
    return text;
}

Stepper::Stepper(Machine& machine, std::FILE* out) : m_(machine), out_(out) {
    m_.set_debug_observer(this);
    km_ = m_.kernel_model();
    if (!km_)
        if (const Symbol* irq_svc = m_.image().find_symbol("__irq_svc"))
            linux_ = LinuxEntry{.irq_svc = irq_svc->addr};
    if (km_) {
        prev_irq_hooks_ = km_->irq().trace_hooks();
        km_->irq().set_trace_hooks(this);
        prev_sched_hooks_ = km_->trace_hooks();
        km_->set_trace_hooks(this);
        km_->set_debug_hooks(this);
    }
}

Stepper::~Stepper() {
    m_.set_debug_observer(nullptr);
    if (km_) {
        km_->irq().set_trace_hooks(prev_irq_hooks_);
        km_->set_trace_hooks(prev_sched_hooks_);
        km_->set_debug_hooks(nullptr);
    }
    if (mem_hook_)
        uc_hook_del(m_.core().uc(), mem_hook_);
}

void Stepper::say(const std::string& line) {
    std::fputs(line.c_str(), out_);
    std::fputc('\n', out_);
}

std::optional<std::string> Stepper::symbolize(uint32_t addr) const {
    if (km_)
        return km_->symbolize(addr);
    if (const Symbol* s = m_.image().symbol_at(addr & ~1u)) {
        uint32_t off = (addr & ~1u) - s->addr;
        // An assembler label without .size has no size to print.
        return s->size ? fmt::format("{}+0x{:x}/0x{:x}", s->name, off, s->size)
                       : fmt::format("{}+0x{:x}", s->name, off);
    }
    return std::nullopt;
}

std::optional<uint32_t> Stepper::lookup(const std::string& name) const {
    if (const Symbol* s = m_.image().find_symbol(name))
        return s->addr | (s->thumb ? 1u : 0u);
    if (km_)
        for (const auto& s : vector_page_symbols())
            if (name == s.name)
                return s.addr;
    return std::nullopt;
}

std::string Stepper::where(uint32_t addr) const {
    auto s = symbolize(addr);
    return s ? fmt::format("0x{:08x} <{}>", addr, *s) : hex32(addr);
}

Stepper::Snapshot Stepper::snapshot() {
    ArmCore& c = m_.core();
    Snapshot s;
    s.cpsr = c.cpsr();
    s.pc = c.pc();
    for (unsigned i = 0; i < 8; ++i)
        s.r[i] = c.reg(i);
    int cur = bank_of(s.cpsr);
    for (int b = 0; b < 6; ++b) {
        if (b == cur) {
            s.sp[b] = c.reg(13);
            s.lr[b] = c.reg(14);
            s.spsr[b] = b ? c.spsr() : 0;
        } else {
            s.sp[b] = c.banked_sp(kBankModes[b]);
            s.lr[b] = c.banked_lr(kBankModes[b]);
            s.spsr[b] = b ? c.banked_spsr(kBankModes[b]) : 0;
        }
    }
    for (unsigned i = 0; i < 5; ++i) {
        if (cur == 1) {
            s.hi_fiq[i] = c.reg(8 + i);
            s.hi_usr[i] = c.banked_reg(CpuMode::Sys, 8 + i);
        } else {
            s.hi_usr[i] = c.reg(8 + i);
            s.hi_fiq[i] = c.banked_reg(CpuMode::Fiq, 8 + i);
        }
    }
    return s;
}

void Stepper::print_delta(const Snapshot& a, const Snapshot& b) {
    auto line = [this](const std::string& name, uint32_t from, uint32_t to,
                       const std::string& extra = {}) {
        say(fmt::format("    {:<9} {} -> {}{}", name, hex32(from), hex32(to), extra));
    };
    for (unsigned i = 0; i < 8; ++i)
        if (a.r[i] != b.r[i])
            line(fmt::format("r{}", i), a.r[i], b.r[i]);
    static constexpr const char* kHi[5] = {"r8", "r9", "r10", "r11", "r12"};
    for (unsigned i = 0; i < 5; ++i) {
        if (a.hi_usr[i] != b.hi_usr[i])
            line(kHi[i], a.hi_usr[i], b.hi_usr[i]);
        if (a.hi_fiq[i] != b.hi_fiq[i])
            line(fmt::format("{}_fiq", kHi[i]), a.hi_fiq[i], b.hi_fiq[i]);
    }
    for (int bk = 0; bk < 6; ++bk) {
        std::string suffix = bk ? fmt::format("_{}", kBankNames[bk]) : "";
        if (a.sp[bk] != b.sp[bk])
            line("sp" + suffix, a.sp[bk], b.sp[bk]);
        if (a.lr[bk] != b.lr[bk]) {
            auto s = symbolize(b.lr[bk]);
            line("lr" + suffix, a.lr[bk], b.lr[bk], s ? fmt::format("  <{}>", *s) : "");
        }
        if (bk && a.spsr[bk] != b.spsr[bk])
            line("spsr" + suffix, a.spsr[bk], b.spsr[bk],
                 fmt::format("  ({})", kernel::cpsr_flags(b.spsr[bk])));
    }
    if (a.cpsr != b.cpsr)
        line("cpsr", a.cpsr, b.cpsr,
             fmt::format("  ({}{})", kernel::cpsr_flags(b.cpsr),
                         (b.cpsr & psr::IT) ? fmt::format("  ITSTATE 0x{:02x}", itstate(b.cpsr))
                                            : ""));
}

// ---- what happens during a step

std::string Stepper::describe_exception(ExceptionType type, uint32_t preferred_return) {
    ArmCore& c = m_.core();
    uint32_t cpsr = c.cpsr(), spsr = c.spsr();
    const char* bank = kBankNames[bank_of(cpsr)];
    return fmt::format("-- exception: {} taken from {} at {}; LR_{}={}, SPSR_{}={}, -> {}",
                       exception_title(type), mode_name(spsr), hex32(preferred_return), bank,
                       hex32(c.reg(14)), bank, hex32(spsr), hex32(c.pc()));
}

void Stepper::exception_taken(ArmCore& c, ExceptionType type, uint32_t preferred_return) {
    last_exception_ = describe_exception(type, preferred_return);
    if (stepping_)
        say(last_exception_);
    uint32_t cpsr = c.cpsr(), spsr = c.spsr();
    Frame f{0, 0, type};
    bool kernel_frames = km_ || (linux_ && decode_linux_entry());
    if (kernel_frames && type != ExceptionType::Fiq && type != ExceptionType::Reset) {
        // Where the entry code will build pt_regs on the SVC stack (entry-armv.S,
        // entry-common.S): vector_swi and usr_entry take PT_REGS_SIZE below sp_svc;
        // svc_entry takes SVC_REGS_SIZE below it, 8-byte aligned, the real r0 pushed
        // last.
        uint32_t sp =
            (cpsr & psr::M) == uint32_t(CpuMode::Svc) ? c.reg(13) : c.banked_sp(CpuMode::Svc);
        f.size = PT_REGS_SIZE;
        if (type == ExceptionType::Svc || (spsr & 0xf) == 0) {
            f.base = sp - PT_REGS_SIZE;
        } else if (linux_ && linux_->align_ne) {
            // Linux 5.x and later (entry-armv.S): sub sp, sp, #SVC_REGS_SIZE;
            // tst sp, #4; subne sp, sp, #4 - the frame 8-byte aligned below sp.
            f.base = (sp - linux_->sub) & ~7u;
            f.size = linux_->sub;
        } else if (linux_) {
            uint32_t s1 = sp - linux_->sub; // 4.x, as the kernel model's below
            if ((s1 & 4) == 0)
                s1 -= 4;
            f.base = s1 - 4;
            f.size = linux_->sub + 4;
        } else {
            uint32_t s1 = sp - (SVC_REGS_SIZE - 4);
            if ((s1 & 4) == 0) // tst sp, #4; subeq sp, sp, #4
                s1 -= 4;
            f.base = s1 - 4; // str r3, [sp, #-4]!
            f.size = SVC_REGS_SIZE;
        }
    }
    // Only the newest frame can still be pending: an older one whose entry code
    // never ran under the stepper is judged by the stack alone.
    for (Frame& old : frames_)
        old.pending = false;
    prune_frames();
    // Where the handler returns to: past an SVC or undefined instruction, to the
    // interrupted (or faulting) instruction otherwise.
    unsigned insn_size = (spsr & psr::T) ? 2 : 4;
    f.resume = preferred_return +
               (type == ExceptionType::Svc || type == ExceptionType::Undefined ? insn_size : 0);
    f.pending = f.size != 0;
    frames_.push_back(f);
}

bool Stepper::decode_linux_entry() {
    if (linux_->known)
        return true;
    // __irq_svc starts with svc_entry: `sub sp, sp, #N`, then within a few
    // instructions the 8-byte alignment, `subne sp, sp, #4` (Linux 5.x and later: the
    // frame is N bytes, struct svc_pt_regs) or `subeq sp, sp, #4` (4.x: N + 4 bytes,
    // the real r0 pushed last), as the kernel model's vector page does.
    std::array<uint8_t, 32> code{};
    if (!m_.core().read_virt(linux_->irq_svc, code))
        return false; // not mapped yet
    auto word = [&](unsigned i) {
        return uint32_t(code[4 * i] | code[4 * i + 1] << 8 | code[4 * i + 2] << 16 |
                        code[4 * i + 3] << 24);
    };
    uint32_t first = word(0);
    if ((first & 0xfffff000) != 0xe24dd000) // sub sp, sp, #imm (ARM, rotation 0)
        return false;
    for (unsigned i = 1; i < 8; ++i) {
        if (word(i) == 0x124dd004 || word(i) == 0x024dd004) { // subne/subeq sp, sp, #4
            linux_->sub = first & 0xff;
            linux_->align_ne = word(i) == 0x124dd004;
            linux_->known = true;
            return true;
        }
    }
    return false;
}

uint32_t Stepper::write_address(uint32_t pa, const Snapshot& before) const {
    const ArmCore& c = m_.core();
    if (!(c.sctlr() & 1)) // MMU off: VA = PA
        return pa;
    // A store's address is its base register plus an offset: try the pages of the
    // registers and stack pointers before the step.
    std::vector<uint32_t> bases(before.r.begin(), before.r.end());
    bases.insert(bases.end(), before.hi_usr.begin(), before.hi_usr.end());
    bases.insert(bases.end(), before.hi_fiq.begin(), before.hi_fiq.end());
    bases.insert(bases.end(), before.sp.begin(), before.sp.end());
    auto near = [&](uint32_t v) -> std::optional<uint32_t> {
        for (uint32_t page : {v & ~0xfffu, (v & ~0xfffu) - 0x1000, (v & ~0xfffu) + 0x1000}) {
            Translation t = c.translate(page, Access::Write, true);
            if (t.ok && (t.pa & ~0xfffu) == (pa & ~0xfffu))
                return page | (pa & 0xfff);
        }
        return std::nullopt;
    };
    for (uint32_t v : bases)
        if (auto va = near(v))
            return *va;
    // A base plus an index register (Linux's per-CPU variables: [r4, r2]).
    for (size_t i = 0; i < bases.size(); ++i)
        for (size_t j = i + 1; j < bases.size(); ++j)
            if (auto va = near(bases[i] + bases[j]))
                return *va;
    return pa;
}

void Stepper::prune_frames() {
    // A pt_regs frame is live while the SVC stack is below it: once its exception
    // has returned (or its task was switched out), sp_svc is above it again. The
    // newest frame is pending until the entry code has moved sp_svc down to it.
    ArmCore& c = m_.core();
    uint32_t sp =
        (c.cpsr() & psr::M) == uint32_t(CpuMode::Svc) ? c.reg(13) : c.banked_sp(CpuMode::Svc);
    std::vector<Frame> live;
    for (Frame& f : frames_) {
        if (!f.size) {
            live.push_back(f);
            continue;
        }
        if (sp <= f.base)
            f.pending = false;
        if (sp <= f.base || f.pending)
            live.push_back(f);
    }
    frames_ = std::move(live);
}

void Stepper::irq_handler_entry(unsigned irq, const kernel::irqaction& action) {
    if (prev_irq_hooks_)
        prev_irq_hooks_->irq_handler_entry(irq, action);
    if (stepping_)
        say(fmt::format("     irq_handler_entry: irq={} name={}", irq, action.name));
}

void Stepper::irq_handler_exit(unsigned irq, const kernel::irqaction& action,
                               kernel::irqreturn_t ret) {
    if (prev_irq_hooks_)
        prev_irq_hooks_->irq_handler_exit(irq, action, ret);
    if (stepping_)
        say(fmt::format("     irq_handler_exit: irq={} ret={}", irq,
                        ret & kernel::IRQ_HANDLED ? "handled" : "unhandled"));
}

void Stepper::function(std::string_view callee, std::string_view caller) {
    if (prev_irq_hooks_)
        prev_irq_hooks_->function(callee, caller);
    if (stepping_)
        say(fmt::format("     {} <-{}", callee, caller));
}

void Stepper::sched_switch(bool preempt, const kernel::task_struct& prev,
                           const kernel::task_struct& next) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->sched_switch(preempt, prev, next);
    if (stepping_)
        say(fmt::format("     sched_switch: {}:{} ==> {}:{}", prev.comm, prev.pid, next.comm,
                        next.pid));
}

void Stepper::sched_wakeup(const kernel::task_struct& t, unsigned target_cpu) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->sched_wakeup(t, target_cpu);
    if (stepping_)
        say(fmt::format("     sched_wakeup: {}:{}", t.comm, t.pid));
}

void Stepper::sched_process_fork(const kernel::task_struct& parent,
                                 const kernel::task_struct& child) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->sched_process_fork(parent, child);
}

void Stepper::sched_process_exit(const kernel::task_struct& t) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->sched_process_exit(t);
    if (stepping_)
        say(fmt::format("     sched_process_exit: {}:{}", t.comm, t.pid));
}

void Stepper::softirq_raise(unsigned vec) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->softirq_raise(vec);
    if (stepping_)
        say(fmt::format("     softirq_raise: vec={}", vec));
}

void Stepper::softirq_entry(unsigned vec) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->softirq_entry(vec);
    if (stepping_)
        say(fmt::format("     softirq_entry: vec={}", vec));
}

void Stepper::softirq_exit(unsigned vec) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->softirq_exit(vec);
    if (stepping_)
        say(fmt::format("     softirq_exit: vec={}", vec));
}

void Stepper::ipi_raise(uint32_t target_cpus, unsigned reason) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->ipi_raise(target_cpus, reason);
    if (stepping_)
        say(fmt::format("     ipi_raise: target_mask={:08x} ({})", target_cpus,
                        kernel::ipi_types.at(reason)));
}

void Stepper::ipi_entry(unsigned reason) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->ipi_entry(reason);
    if (stepping_)
        say(fmt::format("     ipi_entry: ({})", kernel::ipi_types.at(reason)));
}

void Stepper::ipi_exit(unsigned reason) {
    if (prev_sched_hooks_)
        prev_sched_hooks_->ipi_exit(reason);
    if (stepping_)
        say(fmt::format("     ipi_exit: ({})", kernel::ipi_types.at(reason)));
}

void Stepper::preempt_count_changed(unsigned cpu, uint32_t old, uint32_t now) {
    if (!stepping_ || old == now)
        return;
    const auto& fs = km_->irq().function_stack(cpu);
    std::string in = fs.empty() ? std::string("preempt_count") : std::string(fs.back());
    say(fmt::format("     {}: preempt_count {} -> {}", in, hex32(old), hex32(now)));
}

void Stepper::guest_call(unsigned, uint32_t fn, const kernel::GuestCallInfo& info,
                         const std::array<uint32_t, 4>& args) {
    if (std::strcmp(info.kind, "handler") == 0 || std::strcmp(info.kind, "thread_fn") == 0)
        handler_called_ = true;
    if (!stepping_)
        return;
    std::string list;
    for (unsigned i = 0; i < 4 && info.args[i]; ++i) {
        if (i)
            list += ", ";
        list += std::strcmp(info.args[i], "irq") == 0
                    ? fmt::format("{}={}", info.args[i], args[i])
                    : fmt::format("{}={}", info.args[i], hex32(args[i]));
    }
    auto s = symbolize(fn & ~1u);
    std::string name = s ? s->substr(0, s->find('+')) : hex32(fn & ~1u);
    say(fmt::format("  -> guest {} {}({})", info.kind, name, list));
}

void Stepper::mem_write_hook(uc_struct*, int, uint64_t addr, int size, int64_t value, void* ud) {
    auto* st = static_cast<Stepper*>(ud);
    st->writes_.push_back({uint32_t(addr), uint32_t(size), uint32_t(value)});
}

// ---- stepping

bool Stepper::step_once() {
    ArmCore& c = m_.core();
    if (!mem_hook_)
        uc_hook_add(c.uc(), &mem_hook_, UC_HOOK_MEM_WRITE, reinterpret_cast<void*>(mem_write_hook),
                    this, 1, 0);
    Snapshot before = snapshot();
    uint32_t pc = before.pc;
    bool thumb = before.cpsr & psr::T;
    uint32_t it = thumb ? itstate(before.cpsr) : 0;
    std::array<uint8_t, 4> bytes{};
    bool have = c.read_virt(pc, {bytes.data(), thumb ? 2u : 4u});
    uint32_t insn = 0;
    unsigned size = thumb ? 2 : 4;
    if (have && thumb && ((bytes[1] >> 3) >= 0x1d))
        have = c.read_virt(pc + 2, {bytes.data() + 2, 2});
    if (have) {
        size = (thumb && (bytes[1] >> 3) < 0x1d) ? 2 : 4;
        insn = size == 2 ? uint32_t(bytes[0] | bytes[1] << 8)
               : thumb   ? uint32_t((bytes[0] | bytes[1] << 8) << 16 | bytes[2] | bytes[3] << 8)
                         : uint32_t(bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24);
    }
    bool gate = km_ && km_->is_gate(pc);
    writes_.clear();
    stepping_ = true;
    // The instruction line comes first, unless a pending interrupt is taken before
    // it: then the exception entry is the whole step.
    auto print_insn = [&] {
        std::string text = have ? disassemble({bytes.data(), size}, pc, thumb, it) : "";
        std::string enc = size == 2 ? fmt::format("{:04x}    ", insn) : fmt::format("{:08x}", insn);
        say(fmt::format("{}  {}  {}", where(pc), have ? enc : std::string("????????"),
                        text.empty() ? std::string("(undecodable)") : text));
        if (gate) {
            const char* g = vector_page_symbol_name(pc);
            if (std::strcmp(g, "ret_from_guest_call") == 0)
                say(fmt::format("  <- guest function returns {}", hex32(before.r[0])));
            else
                say(fmt::format("  -> {}({})  [kernel model, C++]", g, gate_args(g, before.r)));
        }
    };
    if (!c.interrupt_unmasked())
        print_insn();
    DebugStop d = m_.debug_step();
    stepping_ = false;
    ++steps_;
    Snapshot after = snapshot();
    for (Write& w : writes_) {
        // Unicorn reports a write by its physical address; the transcript shows the
        // virtual one the instruction used (its physical one if none is found).
        uint32_t va = write_address(w.addr, before);
        bool physical = va == w.addr && (m_.core().sctlr() & 1) &&
                        !m_.core().translate(va, Access::Write, true).ok;
        w.addr = va;
        std::string note = physical ? "  (physical)" : "";
        for (size_t i = frames_.size(); i-- > 0;) {
            const Frame& f = frames_[i];
            if (w.addr >= f.base && w.addr < f.base + f.size) {
                uint32_t off = w.addr - f.base;
                std::string member = off < PT_REGS_SIZE    ? kPtRegs[off / 4]
                                     : off == PT_REGS_SIZE ? "dacr"
                                                           : "addr_limit";
                note = fmt::format("  pt_regs->{} (frame {})", member, hex32(f.base));
                break;
            }
        }
        if (note.empty() && km_) {
            uint32_t ti = after.sp[3] & ~(THREAD_SIZE - 1);
            if (w.addr == ti + TI_PREEMPT)
                note = "  thread_info->preempt_count";
            else if (w.addr == ti + TI_ADDR_LIMIT)
                note = "  thread_info->addr_limit";
        }
        std::string value = w.size == 4   ? hex32(w.value)
                            : w.size == 2 ? fmt::format("0x{:04x}", w.value & 0xffff)
                                          : fmt::format("0x{:02x}", w.value & 0xff);
        say(fmt::format("    [{}] <- {}{}", hex32(w.addr), value, note));
    }
    print_delta(before, after);
    // An exception return (an instruction that writes CPSR from SPSR). It ends an
    // exception when it resumes the code that exception interrupted; the vector
    // stubs' `movs pc, lr` into SVC mode is one too, and ends nothing.
    if (have && d.kind != DebugStop::Kind::Ended && !gate &&
        is_exception_return(insn, size, thumb) && after.pc != pc) {
        say(fmt::format("-- exception return to {} in {}", where(after.pc), mode_name(after.cpsr)));
        for (size_t i = frames_.size(); i-- > 0;) {
            if (frames_[i].resume == after.pc || !frames_[i].size) {
                frames_.resize(i);
                returned_ = true;
                break;
            }
        }
    }
    prune_frames();
    if (gate && d.kind != DebugStop::Kind::Ended)
        say(fmt::format("  => {}", where(after.pc)));
    if (d.kind == DebugStop::Kind::Ended) {
        end_run(d.outcome);
        return false;
    }
    if (d.kind == DebugStop::Kind::Watchpoint)
        return false;
    return true;
}

void Stepper::end_run(const RunOutcome& o) {
    ended_ = true;
    exit_status_ = o.exit_status;
    say(fmt::format("-- run ended: {} (exit status {})",
                    o.message.empty() ? "the guest exited" : o.message, o.exit_status));
}

bool Stepper::cmd_step(unsigned n, bool over) {
    for (unsigned i = 0; i < n; ++i) {
        if (over) {
            ArmCore& c = m_.core();
            uint32_t pc = c.pc(), insn = 0;
            bool thumb = c.thumb();
            std::array<uint8_t, 4> b{};
            unsigned size = 4;
            if (c.read_virt(pc, {b.data(), 4})) {
                size = (thumb && (b[1] >> 3) < 0x1d) ? 2 : 4;
                insn = size == 2 ? uint32_t(b[0] | b[1] << 8)
                       : thumb   ? uint32_t((b[0] | b[1] << 8) << 16 | b[2] | b[3] << 8)
                                 : uint32_t(b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24);
                if (auto ret = call_return(insn, size, thumb, pc)) {
                    if (!step_once())
                        return false;
                    bool had = c.has_breakpoint(*ret);
                    c.add_breakpoint(*ret);
                    DebugStop d = m_.debug_continue(interrupted_);
                    if (!had)
                        c.remove_breakpoint(*ret);
                    if (d.kind != DebugStop::Kind::Breakpoint || d.stop.pc != *ret) {
                        print_stop(d);
                        return d.kind != DebugStop::Kind::Ended;
                    }
                    say(fmt::format("-- returned to {}", where(*ret)));
                    continue;
                }
            }
        }
        if (!step_once())
            return !ended_;
    }
    return true;
}

void Stepper::print_stop(const DebugStop& d) {
    switch (d.kind) {
    case DebugStop::Kind::Breakpoint:
        say(fmt::format("-- breakpoint at {}", where(d.stop.pc)));
        break;
    case DebugStop::Kind::Watchpoint:
        say(fmt::format("-- watchpoint: {} at {}", hex32(d.stop.far), where(d.stop.pc)));
        break;
    case DebugStop::Kind::Exception:
        say(last_exception_);
        say(fmt::format("-- stopped at the {} exception entry", exception_title(d.exception)));
        break;
    case DebugStop::Kind::Interrupted:
        say("-- interrupted");
        break;
    case DebugStop::Kind::Ended:
        end_run(d.outcome);
        break;
    case DebugStop::Kind::Step:
        break;
    }
}

bool Stepper::cmd_continue() {
    // Exceptions are announced only while stepping; a continue prints where it stops.
    DebugStop d = m_.debug_continue(interrupted_);
    print_stop(d);
    return d.kind != DebugStop::Kind::Ended;
}

bool Stepper::cmd_until(const std::string& what) {
    constexpr uint64_t kMaxSteps = 1'000'000;
    std::optional<uint32_t> target;
    if (what != "handler" && what != "return") {
        target = eval(what);
        if (!target) {
            say(fmt::format("until {}: no such symbol or address", what));
            return true;
        }
    }
    size_t depth = frames_.size();
    for (uint64_t i = 0; i < kMaxSteps; ++i) {
        if (interrupted_ && interrupted_()) {
            say("-- interrupted");
            return true;
        }
        handler_called_ = false;
        returned_ = false;
        if (!step_once())
            return !ended_;
        if (target && (m_.core().pc() & ~1u) == (*target & ~1u))
            return true;
        if (what == "handler" && handler_called_)
            return true;
        if (what == "return" && returned_ && frames_.size() < std::max<size_t>(depth, 1))
            return true;
    }
    say(fmt::format("until {}: not reached in {} steps", what, kMaxSteps));
    return true;
}

std::optional<uint32_t> Stepper::eval(const std::string& e) {
    if (e.empty())
        return std::nullopt;
    ArmCore& c = m_.core();
    if (e[0] == '$') {
        std::string r = e.substr(1);
        if (r == "sp")
            return c.reg(13);
        if (r == "lr")
            return c.reg(14);
        if (r == "pc")
            return c.pc();
        if (r == "cpsr")
            return c.cpsr();
        if (r.size() > 1 && r[0] == 'r') {
            char* end = nullptr;
            unsigned long n = std::strtoul(r.c_str() + 1, &end, 10);
            if (*end == 0 && n < 16)
                return c.reg(unsigned(n));
        }
        return std::nullopt;
    }
    if (std::isdigit(static_cast<unsigned char>(e[0]))) {
        char* end = nullptr;
        unsigned long long v = std::strtoull(e.c_str(), &end, 0);
        if (*end || v > 0xffffffffull)
            return std::nullopt;
        return uint32_t(v);
    }
    return lookup(e);
}

std::optional<std::string> Stepper::add_break(const std::string& spec) {
    if (auto bit = exception_break_bit(spec)) {
        exception_breaks_ |= *bit;
        m_.set_exception_breaks(exception_breaks_);
        return std::nullopt;
    }
    auto addr = eval(spec);
    if (!addr)
        return fmt::format("{}: not an exception (irq, fiq, svc, abort, undef), a symbol or an "
                           "address",
                           spec);
    m_.core().add_breakpoint(*addr & ~1u);
    breakpoints_.push_back(*addr & ~1u);
    return std::nullopt;
}

void Stepper::cmd_examine(const std::string& fmtspec, const std::string& at) {
    unsigned n = 1;
    if (fmtspec.size() > 1) {
        char* end = nullptr;
        n = unsigned(std::strtoul(fmtspec.c_str() + 1, &end, 10));
        if (n == 0 || n > 1024 || (*end && std::strcmp(end, "w") != 0) ||
            end == fmtspec.c_str() + 1) {
            say(fmt::format("{}: expected x/Nw with N 1-1024", fmtspec));
            return;
        }
    }
    auto addr = eval(at);
    if (!addr) {
        say(fmt::format("x {}: no such symbol, register or address", at));
        return;
    }
    uint32_t a = *addr & ~3u;
    for (unsigned i = 0; i < n; i += 4) {
        std::string row = fmt::format("{}:", hex32(a + i * 4));
        for (unsigned j = i; j < std::min(n, i + 4); ++j) {
            uint8_t b[4];
            if (!m_.core().read_virt(a + j * 4, b)) {
                row += " ????????";
                continue;
            }
            row += fmt::format(" {:08x}", uint32_t(b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24));
        }
        say(row);
    }
}

void Stepper::cmd_regs() {
    ArmCore& c = m_.core();
    Snapshot s = snapshot();
    int cur = bank_of(s.cpsr);
    for (unsigned i = 0; i < 13; i += 4) {
        std::string row;
        for (unsigned j = i; j < std::min(13u, i + 4); ++j)
            row += fmt::format("r{:<2} {}  ", j, hex32(c.reg(j)));
        say(row);
    }
    say(fmt::format("sp  {}  lr  {}  pc  {}", hex32(c.reg(13)), hex32(c.reg(14)), where(s.pc)));
    say(fmt::format("cpsr {}  ({})", hex32(s.cpsr), kernel::cpsr_flags(s.cpsr)));
    for (int b = 1; b < 6; ++b)
        say(fmt::format("{}: sp {}  lr {}  spsr {}{}", kBankNames[b], hex32(s.sp[b]),
                        hex32(s.lr[b]), hex32(s.spsr[b]), b == cur ? "  (current)" : ""));
    say(fmt::format("usr: sp {}  lr {}", hex32(s.sp[0]), hex32(s.lr[0])));
}

void Stepper::cmd_frame() {
    prune_frames();
    auto it = std::find_if(frames_.rbegin(), frames_.rend(), [](const Frame& f) { return f.size; });
    if (it == frames_.rend()) {
        say("no exception frame (pt_regs) is live");
        return;
    }
    const Frame& f = *it;
    say(fmt::format("pt_regs at {} ({} exception):", hex32(f.base), exception_title(f.type)));
    for (uint32_t off = 0; off < f.size; off += 4) {
        uint8_t b[4];
        std::string value = "????????";
        uint32_t v = 0;
        if (m_.core().read_virt(f.base + off, b)) {
            v = uint32_t(b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24);
            value = fmt::format("{:08x}", v);
        }
        std::string member = off < PT_REGS_SIZE         ? kPtRegs[off / 4]
                             : off == SVC_REGS_SIZE - 8 ? "dacr"
                                                        : "addr_limit";
        std::string extra;
        if (member == "ARM_cpsr")
            extra = "  " + kernel::cpsr_flags(v);
        else if (member == "ARM_pc" || member == "ARM_lr")
            if (auto s = symbolize(v))
                extra = "  " + *s;
        say(fmt::format("  {}  0x{}  {:<11}{}", hex32(f.base + off), value, member, extra));
    }
}

void Stepper::cmd_bt() {
    prune_frames();
    ArmCore& c = m_.core();
    unsigned n = 0;
    auto row = [&](uint32_t pc, const std::string& how) {
        say(fmt::format("#{:<2} {}{}", n++, where(pc), how));
    };
    auto word = [&](uint32_t addr) -> std::optional<uint32_t> {
        uint8_t b[4];
        if (!c.read_virt(addr, b))
            return std::nullopt;
        return uint32_t(b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24);
    };
    // Guest callers by the APCS frame-pointer chain (as the kernel's unwind_frame):
    // [fp - 4] the return address, [fp - 12] the caller's fp. It stays on the stack
    // it starts on (the 8 KiB kernel stack with the kernel model) and ends at the
    // vector page (C++ or entry code called this code).
    auto chain = [&](uint32_t fp) {
        uint32_t lo = fp, hi = km_ ? (fp & ~(THREAD_SIZE - 1)) + THREAD_SIZE : ~0u;
        for (unsigned i = 0; i < 32 && fp >= lo && fp < hi && fp >= 12; ++i) {
            auto lr = word(fp - 4), next = word(fp - 12);
            if (!lr || !next || *lr == 0 || !symbolize(*lr))
                return;
            if (km_ && *lr >= PIEMU_KM_VECTORS)
                return;
            row(*lr, "  (frame pointer)");
            if (*next <= fp)
                return;
            fp = *next;
        }
    };
    row(c.pc(), "");
    if (!km_ || c.pc() < PIEMU_KM_VECTORS) {
        // A function that has not (yet) pushed a frame: its caller is in lr.
        auto fn = [&](uint32_t a) {
            auto sym = symbolize(a);
            return sym ? sym->substr(0, sym->find('+')) : std::string();
        };
        uint32_t lr = c.reg(14);
        auto saved = word(c.reg(11) - 4);
        // (Not the link of an exception just taken: that is its frame, below.)
        bool exception_link =
            !frames_.empty() && (lr == frames_.back().resume || lr == frames_.back().resume + 4);
        if (!fn(lr).empty() && fn(lr) != fn(c.pc()) && (!saved || *saved != lr) &&
            !exception_link && (!km_ || lr < PIEMU_KM_VECTORS))
            row(lr, "  (lr)");
        chain(c.reg(11));
    }
    if (km_) {
        const auto& fs = km_->irq().function_stack(c.index());
        for (size_t i = fs.size(); i-- > 0;)
            say(fmt::format("#{:<2} {}  [C++]", n++, fs[i]));
        const auto& gates = km_->current(c.index())->gate_frames;
        for (size_t i = gates.size(); i-- > 0;)
            row(gates[i].gate, fmt::format("  [gate, called from {}]", where(gates[i].lr)));
    }
    // The exception frames, innermost first: the code each one interrupted.
    for (size_t i = frames_.size(); i-- > 0;) {
        say("    -->|exception");
        if (!frames_[i].size) {
            row(frames_[i].resume, "  (where the exception returns)");
            continue;
        }
        auto pc = word(frames_[i].base + S_PC), lr = word(frames_[i].base + S_LR);
        auto fp = word(frames_[i].base + 11 * 4);
        if (!pc || !lr || !fp)
            break;
        row(*pc, "  (pt_regs->ARM_pc)");
        unsigned before = n;
        chain(*fp);
        if (n == before)
            row(*lr, "  (pt_regs->ARM_lr)");
    }
}

bool Stepper::command(const std::string& raw) {
    std::istringstream in(raw);
    std::string cmd;
    in >> cmd;
    std::vector<std::string> args;
    for (std::string a; in >> a;)
        args.push_back(a);
    if (cmd.empty() || cmd[0] == '#')
        return true;
    if (ended_ && cmd != "q" && cmd != "quit") {
        say("the run has ended");
        return false;
    }
    if (echo_)
        say(fmt::format("(piemu) {}", raw));
    auto count = [&]() -> std::optional<unsigned> {
        if (args.empty())
            return 1u;
        char* end = nullptr;
        unsigned long v = std::strtoul(args[0].c_str(), &end, 0);
        if (*end || v == 0 || v > 10'000'000)
            return std::nullopt;
        return unsigned(v);
    };
    if (cmd == "s" || cmd == "si" || cmd == "stepi" || cmd == "step" || cmd == "n" || cmd == "ni" ||
        cmd == "nexti" || cmd == "next") {
        auto n = count();
        if (!n) {
            say(fmt::format("{}: expected a positive count", cmd));
            return true;
        }
        return cmd_step(*n, cmd[0] == 'n');
    }
    if (cmd == "c" || cmd == "continue")
        return cmd_continue();
    if (cmd == "b" || cmd == "break") {
        if (args.size() != 1) {
            say("break: expected irq, fiq, svc, abort, undef, a symbol or an address");
            return true;
        }
        if (auto err = add_break(args[0]))
            say(*err);
        return true;
    }
    if (cmd == "until" || cmd == "u") {
        if (args.size() != 1) {
            say("until: expected a symbol, an address, handler or return");
            return true;
        }
        return cmd_until(args[0]);
    }
    if (cmd.rfind("x", 0) == 0 && (cmd.size() == 1 || cmd[1] == '/')) {
        if (args.size() != 1) {
            say("x: expected x/Nw ADDR");
            return true;
        }
        cmd_examine(cmd.substr(1), args[0]);
        return true;
    }
    if (cmd == "regs" || cmd == "info") {
        cmd_regs();
        return true;
    }
    if (cmd == "frame") {
        cmd_frame();
        return true;
    }
    if (cmd == "bt" || cmd == "backtrace") {
        cmd_bt();
        return true;
    }
    if (cmd == "irqs") {
        if (!km_) // a bare guest: the deliveries counted at the controllers
            std::fputs(m_.deliveries().show(m_.clock().now_ns()).c_str(), out_);
        else
            std::fputs(km_->irq().show_interrupts().c_str(), out_);
        return true;
    }
    if (cmd == "q" || cmd == "quit")
        return false;
    if (cmd == "help" || cmd == "h") {
        say("s|stepi [N]  n|nexti [N]  c  b irq|fiq|svc|abort|undef|SYMBOL|ADDR  "
            "until SYMBOL|handler|return  x/Nw ADDR  regs  frame  bt  irqs  q");
        return true;
    }
    say(fmt::format("{}: unknown command (help lists them)", cmd));
    return true;
}

} // namespace piemu::debug
