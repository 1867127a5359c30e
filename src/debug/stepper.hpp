// The stepper behind `piemu step`: single-steps a guest and prints, per step, the
// instruction (Capstone, `symbol+0xoff/0xsize`), the registers it changed (banked
// registers named by mode, CPSR decoded as __show_regs does), the memory it wrote
// (words of an exception frame named as pt_regs members), the hardware part of each
// exception entry, and each step through the kernel model's C++ (genirq functions,
// preempt_count changes, calls into guest handlers), so the journey from an
// interrupted instruction to its handler and back is one ordered transcript.
//
// Commands (one per line, from a script, stdin or the interactive prompt):
//   s | si | stepi [N]   step N instructions (default 1)
//   n | ni | nexti [N]   step, but run a called function (BL/BLX) to its return
//   c | continue         run to a breakpoint, a break exception or the end
//   b | break WHERE      irq|fiq|svc|abort|undef (stop at that exception's entry),
//                        SYMBOL or ADDR (stop before that instruction)
//   until WHAT           SYMBOL, handler (a guest handler is called) or return (the
//                        current exception returns)
//   x/Nw ADDR            N words at ADDR (a number, SYMBOL, or $reg)
//   regs | frame | bt | irqs | help | q
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kernel/kernel_model.hpp"
#include "piemu/kernel/irq.hpp"
#include "piemu/machine.hpp"

namespace piemu::debug {

/// Capstone's text for one instruction ("mov r0, #1"). `itstate` is the Thumb IT
/// state the instruction executes in (its condition is then printed, as in an IT
/// block's listing). Empty when the bytes do not decode.
std::string disassemble(std::span<const uint8_t> bytes, uint32_t addr, bool thumb, uint32_t itstate,
                        unsigned* size = nullptr);

class Stepper final : public DebugObserver,
                      public kernel::IrqTraceHooks,
                      public kernel::KernelTraceHooks,
                      public kernel::KernelDebugHooks {
public:
    Stepper(Machine& machine, std::FILE* out);
    ~Stepper() override;
    Stepper(const Stepper&) = delete;
    Stepper& operator=(const Stepper&) = delete;

    /// Runs one command line. False when the session is over (q, or the run ended).
    bool command(const std::string& line);
    /// Adds a break (`b` command): an exception name, a symbol or an address. Returns
    /// an error message on a bad spec.
    std::optional<std::string> add_break(const std::string& spec);
    /// The process exit status: the run's when it ended, else 0.
    int exit_status() const { return exit_status_; }
    bool ended() const { return ended_; }
    /// Polled while `c`, `n` over a call or `until` run: true stops them (Ctrl-C at
    /// the prompt).
    void set_interrupt_check(std::function<bool()> check) { interrupted_ = std::move(check); }
    /// Echo each command as "(piemu) CMD" before its output (scripted sessions).
    void set_echo(bool on) { echo_ = on; }
    /// "%pS" of an address: `name+0xoff/0xsize` from the image or the vector page.
    std::optional<std::string> symbolize(uint32_t addr) const;
    /// The address of a symbol of the image or the vector page.
    std::optional<uint32_t> lookup(const std::string& name) const;

    // DebugObserver
    void exception_taken(ArmCore& core, ExceptionType type, uint32_t preferred_return) override;
    // kernel::IrqTraceHooks (forwarded to the trace recorder's hooks, if any)
    void irq_handler_entry(unsigned irq, const kernel::irqaction& action) override;
    void irq_handler_exit(unsigned irq, const kernel::irqaction& action,
                          kernel::irqreturn_t ret) override;
    void function(std::string_view callee, std::string_view caller) override;
    // kernel::KernelTraceHooks (forwarded likewise)
    void sched_switch(bool preempt, const kernel::task_struct& prev,
                      const kernel::task_struct& next) override;
    void sched_wakeup(const kernel::task_struct& t, unsigned target_cpu) override;
    void sched_process_fork(const kernel::task_struct& parent,
                            const kernel::task_struct& child) override;
    void sched_process_exit(const kernel::task_struct& t) override;
    void softirq_raise(unsigned vec) override;
    void softirq_entry(unsigned vec) override;
    void softirq_exit(unsigned vec) override;
    void ipi_raise(uint32_t target_cpus, unsigned reason) override;
    void ipi_entry(unsigned reason) override;
    void ipi_exit(unsigned reason) override;
    // kernel::KernelDebugHooks
    void preempt_count_changed(unsigned cpu, uint32_t old, uint32_t now) override;
    void guest_call(unsigned cpu, uint32_t fn, const kernel::GuestCallInfo& info,
                    const std::array<uint32_t, 4>& args) override;

private:
    /// Every register the core has, by bank: r0-r7, r8-r12 (usr, fiq), sp/lr per
    /// mode, the SPSRs, CPSR, PC.
    struct Snapshot {
        std::array<uint32_t, 8> r{};
        std::array<uint32_t, 5> hi_usr{}, hi_fiq{};
        std::array<uint32_t, 6> sp{}, lr{}, spsr{}; ///< usr/sys, fiq, irq, svc, abt, und
        uint32_t cpsr = 0, pc = 0;
    };
    Snapshot snapshot();
    void print_delta(const Snapshot& before, const Snapshot& after);
    /// One step; false when the session should stop stepping (run ended, a break).
    bool step_once();
    bool cmd_step(unsigned n, bool over);
    bool cmd_continue();
    bool cmd_until(const std::string& what);
    void cmd_examine(const std::string& fmt, const std::string& where);
    void cmd_regs();
    void cmd_frame();
    void cmd_bt();
    void print_stop(const DebugStop& d);
    void end_run(const RunOutcome& outcome);
    std::optional<uint32_t> eval(const std::string& expr);
    std::string where(uint32_t addr) const; ///< "0x%08x <sym>"
    std::string describe_exception(ExceptionType type, uint32_t preferred_return);
    void say(const std::string& line); ///< a line of the transcript
    static void mem_write_hook(struct uc_struct* uc, int type, uint64_t addr, int size,
                               int64_t value, void* ud);

    Machine& m_;
    std::FILE* out_;
    kernel::KernelModel* km_ = nullptr;
    kernel::IrqTraceHooks* prev_irq_hooks_ = nullptr;
    kernel::KernelTraceHooks* prev_sched_hooks_ = nullptr;
    size_t mem_hook_ = 0;
    bool stepping_ = false; ///< inside a step: print kernel-model events
    struct Write {
        uint32_t addr, size, value;
    };
    std::vector<Write> writes_;
    /// pt_regs frames being built or live, innermost last (kernel model only).
    struct Frame {
        uint32_t base; ///< pt_regs (kernel model), 0 for a bare guest's exception
        uint32_t size; ///< PT_REGS_SIZE, SVC_REGS_SIZE for svc_entry frames, or 0
        ExceptionType type;
        uint32_t resume = 0;  ///< where the exception returns to
        bool pending = false; ///< the entry code has not reached it yet
    };
    void prune_frames();
    /// A real kernel's svc_entry (its symbols name `__irq_svc`): how its pt_regs
    /// frame sits below sp_svc, read from the kernel's own code at the first exception.
    struct LinuxEntry {
        uint32_t irq_svc = 0; ///< the address of __irq_svc
        bool known = false;   ///< decoded
        uint32_t sub = 0;     ///< svc_entry's `sub sp, sp, #sub`
        bool align_ne = true; ///< `subne sp, sp, #4` (5.x and later) or `subeq` (4.x)
    };
    std::optional<LinuxEntry> linux_;
    bool decode_linux_entry();
    /// The virtual address of a write that Unicorn reports by its physical address
    /// (the MMU on): found through the pages the registers point to.
    uint32_t write_address(uint32_t pa, const Snapshot& before) const;
    std::vector<Frame> frames_;
    std::vector<uint32_t> breakpoints_;
    unsigned exception_breaks_ = 0;
    bool handler_called_ = false; ///< a guest handler was called during this step
    bool returned_ = false;       ///< an exception return ran during this step
    bool ended_ = false;
    bool echo_ = true;
    std::function<bool()> interrupted_;
    std::string last_exception_; ///< the last exception entry, described
    int exit_status_ = 0;
    uint64_t steps_ = 0;
};

} // namespace piemu::debug
