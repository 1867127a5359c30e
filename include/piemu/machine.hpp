// The machine: board, bus, clock, cores, devices and the run loop.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "piemu/arm_core.hpp"
#include "piemu/bus.hpp"
#include "piemu/clock.hpp"
#include "piemu/deliveries.hpp"
#include "piemu/error.hpp"
#include "piemu/loader.hpp"

namespace piemu {

class SdCard;
class Bcm2836LocalIntc;

class Pl011;
class Bcm2835Aux;
class UartInput;
class Semihosting;
class BuiltBoard;
namespace kernel {
class KernelModel;
}
namespace trace {
class Recorder;
class IrqTracer;
class VcdWriter;
struct Context;
} // namespace trace

/// What distinguishes the boards piemu models (data, not code: STYLE.md #7).
struct BoardInfo {
    std::string name;        ///< "raspi2b"
    std::string description; ///< one line for `piemu boards`
    uint32_t ram_size;       ///< bytes of RAM installed (the ARM sees those below peri_base)
    uint64_t cpu_hz;         ///< virtual clock: one instruction is one cycle
    uint32_t peri_base;      ///< ARM physical address of the 0x7e000000 bus window
    uint32_t cntfrq;         ///< CNTFRQ as the Pi firmware programs it
    unsigned cores;
    uint32_t mpidr_base; ///< MPIDR of core 0 (the core number is ORed in)
};

/// The boards piemu knows, in display order.
const std::vector<BoardInfo>& boards();
const BoardInfo* find_board(const std::string& name);

struct MachineOptions {
    std::string board = "raspi2b";
    /// --board-dtb: a flattened device tree built instead of the board's own (RAM size,
    /// clock and core count stay the board's); empty = the built-in one.
    std::string board_dtb;
    bool strict_mmio = false;
    uint64_t max_insns = 0;          ///< 0 = no limit
    uint64_t duration_ns = 0;        ///< end the run normally at this virtual time; 0 = never
    std::string uart = "stdio";      ///< "stdio", "none" or a file path
    std::string uart_input = "none"; ///< "none", "stdin" or a file path
    /// The mini UART (UART1, DT alias serial1), QEMU's second -serial: where its output
    /// goes and what it receives, as for the PL011. Its output is dropped by default.
    std::string uart1 = "none";
    std::string uart1_input = "none";
    bool reboot = false;            ///< a watchdog reset restarts the machine, not the run
    std::string sd_image;           ///< SD card image for the SD host ("" = empty slot)
    std::string sd_host = "sdhost"; ///< whose slot holds the card: "sdhost" or "sdhci"
    bool sd_readonly = false;       ///< the card is write-protected
    bool kernel_model = false;      ///< interrupts go to piemu's kernel model (genirq)
    std::string dmesg;              ///< file for the kernel model's log ("" = none)
    /// kernel model: without a console on the UART, its warnings and worse go to stderr
    bool kernel_warnings_to_stderr = true;
    bool panic_on_bug = false; ///< kernel model: a sleeping-in-atomic BUG panics (status 122)
    bool threadirqs = false;   ///< kernel model: force-thread every handler ("threadirqs")
    std::string trace_file;    ///< ftrace-format trace written at the end ("" = none)
    std::string trace_events;  ///< event list (e.g. "irq,piemu:*"); "" = the defaults
    std::vector<unsigned> trace_irqs; ///< only these irqs' handler events; empty = all
    size_t trace_buffer = 0;          ///< bytes per CPU ring; 0 = the kernel's 1408 KiB
    bool trace_functions = false;     ///< function-tracer lines of the interrupt path
    /// Where the secondary cores start: "parked" (waiting for an entry address in their
    /// local-controller mailbox 3, as the Pi firmware leaves them) or "all" (at the
    /// image's entry with core 0, as QEMU's -kernel does).
    std::string smp_start = "parked";
    /// While more than one core runs: the instructions (cycles of virtual time) each
    /// core runs per round of the round-robin (docs/architecture.md, "Several cores").
    uint64_t quantum = 1000;
    /// The kernel model: CPUs it brings up, as Linux's maxcpus= boot option (0: every
    /// core of the board, as a Pi's kernel; `piemu step` and --gdb use 1).
    unsigned maxcpus = 0;
    std::string vcd_file; ///< --vcd: the interrupt lines as a Value Change Dump ("" = none)
};

/// Why a run ended, and the process exit status it maps to.
struct RunOutcome {
    enum class Kind {
        GuestExit,
        InsnLimit,
        Fault,
        HostSignal,
        Deadlock,
        Reset,
        PowerOff,
        Duration,
        Panic ///< the kernel model panicked (an Oops in guest code, ...)
    };
    Kind kind = Kind::GuestExit;
    int exit_status = 0;
    std::string message; ///< one line for stderr when not a plain guest exit
};

/// What a debugger (src/debug/) is told besides the instructions it steps: the
/// hardware part of every exception entry, as it happens.
class DebugObserver {
public:
    virtual ~DebugObserver() = default;
    /// `core` has just entered the exception: mode, LR, SPSR and PC are the new ones.
    /// `preferred_return` is the architectural preferred return address.
    virtual void exception_taken(ArmCore& core, ExceptionType type, uint32_t preferred_return) {
        (void)core, (void)type, (void)preferred_return;
    }
};

/// Why a debugger's step or continue returned.
struct DebugStop {
    enum class Kind {
        Step,        ///< the step finished
        Breakpoint,  ///< at a breakpoint, before its instruction
        Watchpoint,  ///< after the access (stop.far, stop.watch)
        Exception,   ///< an exception of the break mask was just taken
        Interrupted, ///< the debugger asked (Ctrl-C, a host signal)
        Ended,       ///< the run ended: `outcome` says how
    };
    Kind kind = Kind::Step;
    unsigned cpu = 0;
    StopInfo stop;             ///< the core's stop for Breakpoint/Watchpoint
    ExceptionType exception{}; ///< for Exception
    RunOutcome outcome;        ///< for Ended
};

class Machine {
public:
    static ErrorOr<std::unique_ptr<Machine>> create(const MachineOptions& options);
    ~Machine();

    /// Loads an image (ELF or raw) and points core 0 at its entry.
    ErrorOr<void> load(const std::string& path, std::optional<uint32_t> load_addr);
    /// Kernel model without a guest image: the cores idle (wfi) with IRQs enabled.
    void start_idle();
    /// Loads a kernel with the Linux boot protocol.
    ErrorOr<void> load_linux(const LinuxBootParams& params);

    /// Runs until the guest exits, faults beyond delivery, hits a limit, or a host
    /// signal arrives (see request_stop()).
    RunOutcome run();
    /// Async-signal-safe: asks the run loop to stop at the next block boundary.
    void request_stop();

    // ---- debugger run control (the stepper and the gdb stub)
    /// What debug_step() does with interrupts and timer events.
    enum class StepInterrupts {
        /// As the run loop: due timer events fire first, and the entry of a pending
        /// unmasked interrupt is the step.
        Deliver,
        /// Neither: the step is the instruction, and what is due waits for the next
        /// step or continue that delivers (QEMU gdbstub's default single-step flags,
        /// SSTEP_NOIRQ | SSTEP_NOTIMER). A stepped WFI still idles until a line rises.
        Hold,
    };
    /// One step of core 0: if an unmasked interrupt is pending (and `irqs` delivers),
    /// its exception entry is the step; otherwise one instruction and what it leads
    /// to (the synchronous exception it raises, or the kernel-model C++ behind a
    /// gate). A run that ends (exit, limit, fault) is reported as Kind::Ended.
    DebugStop debug_step(StepInterrupts irqs = StepInterrupts::Deliver);
    /// Runs core 0 until a breakpoint or watchpoint, the entry of an exception in the
    /// break mask, `interrupted()` returning true (polled at least every
    /// kDebugPollInsns instructions), or the end of the run. A breakpoint at the PC it
    /// starts from does not stop it.
    DebugStop debug_continue(const std::function<bool()>& interrupted);
    static constexpr uint64_t kDebugPollInsns = 1'000'000;
    /// Exceptions whose entry ends debug_continue(): bit (1 << int(ExceptionType)).
    void set_exception_breaks(unsigned mask) { exception_breaks_ = mask; }
    void set_debug_observer(DebugObserver* o) { debug_observer_ = o; }

    /// Dumps of /proc/interrupts during the run: every `every_ns` of virtual time
    /// (0 = never) and, if `on_signal`, when request_interrupts_dump() is called.
    void set_interrupts_dump(uint64_t every_ns, bool on_signal, std::function<void()> dump);
    /// Async-signal-safe: dump at the next block boundary (SIGUSR1).
    void request_interrupts_dump();
    /// Dumps tied to the console's output (--dump-interrupts=uart:TEXT): when UART0
    /// sends the newline ending a line that contains `text`, and again when it sends
    /// the next character, each time between the guest's two writes to the data
    /// register (so the guest runs exactly as without it). `dump` gets what triggered it.
    void set_uart_dump(std::string text, std::function<void(std::string_view when)> dump);

    /// --progress: `poll` runs at slice boundaries, between translation blocks (never
    /// inside one; with several cores between rounds, where the clock is the machine's
    /// time), and no one-core slice runs more than `max_slice` cycles, so that it runs
    /// even when no timer is armed. It may read the machine and must change nothing. Where a
    /// slice ends is invisible to the guest: it ends at a block start, the next slice
    /// starts at that block, and the events and interrupts between them are the ones
    /// due anyway; so instructions, traces and output are those of a run without it.
    /// Null stops it.
    void set_progress(std::function<void()> poll, uint64_t max_slice);

    ArmCore& core(unsigned i = 0) { return *cores_.at(i); }
    unsigned core_count() const { return unsigned(cores_.size()); }
    /// True while core `i` waits in the firmware's boot loop for its entry address.
    bool core_parked(unsigned i) const { return runs_.at(i).state == CoreState::Parked; }
    /// True once the round-robin of several cores has taken over the run loop.
    bool smp_active() const { return smp_; }
    /// True once request_stop() was called (a host signal): a debugger waiting for
    /// its client stops waiting.
    bool stop_requested() const { return stop_requested_; }
    Bus& bus() { return bus_; }
    VirtualClock& clock() { return clock_; }
    const BoardInfo& board() const { return board_; }
    const LoadedImage& image() const { return image_; }
    /// Adds symbols from another source (--symbols System.map) to the image's, for
    /// symbolization; they stay when a reset reloads the image.
    void add_symbols(const std::vector<Symbol>& symbols);
    Pl011& uart0() { return *uart0_; }
    /// The mini UART (the device for the DT alias serial1), or null if the board has none.
    Bcm2835Aux* uart1() { return uart1_; }
    /// The devices the board's device tree described, and its wiring table.
    const BuiltBoard& built_board() const { return *built_; }
    /// The kernel model, when --kernel-model is on (else null).
    kernel::KernelModel* kernel_model() { return kernel_.get(); }
    /// Interrupts delivered at the board's controllers, per input and core, so far.
    const DeliveryCounts& deliveries() const { return *deliveries_; }
    /// The trace recorder, when --trace is on (else null).
    trace::Recorder* recorder() { return recorder_.get(); }
    /// Instructions retired by all cores.
    uint64_t instructions() const;
    /// Exceptions of type `t` taken by all cores since the machine was created.
    uint64_t exceptions_taken(ExceptionType t) const { return exception_counts_.at(size_t(t)); }
    /// Flushes every output piemu writes (UART logs, trace, VCD, kernel log, stdout).
    void flush_outputs();
    /// After flush_outputs(): one message per output file a write to which failed
    /// ("--uart FILE: write failed: No space left on device"); empty if none did.
    std::vector<std::string> output_errors() const;

private:
    Machine(const BoardInfo& board, const MachineOptions& options);
    ErrorOr<void> init();
    void reset_core_state(ArmCore& core);
    /// What the Pi firmware leaves behind for the guest in the devices.
    void setup_firmware_state();
    /// Points core 0 at the image: directly, or through the boot stub at 0.
    void start_image();
    ErrorOr<void> connect_uart_input();
    /// Opens what --uart / --uart1 name (`option` is for messages).
    ErrorOr<void> open_uart_output(const std::string& option, const std::string& spec, FILE*& out,
                                   bool& owned);
    /// The mini UART's output and input (--uart1, --uart1-input).
    ErrorOr<void> connect_uart1();
    /// A UART input source for `spec` ("none", "stdin", a file); the fd of an opened
    /// file goes to `fd_out` (closed at destruction). Null for "none".
    ErrorOr<std::unique_ptr<UartInput>> open_uart_input(const std::string& option,
                                                        const std::string& spec, int& fd_out);
    ErrorOr<void> boot_kernel_model();
    ErrorOr<void> setup_trace();
    /// The trace Context of "now" on core `cpu`: the current task, its flags; with
    /// `locks_held` spinlocks (IRQs off) on top, as inside the scheduler.
    trace::Context trace_context(unsigned cpu, unsigned locks_held = 0);
    void trace_exception(ArmCore& core, ExceptionType type, uint32_t preferred_return);
    /// Every exception entry passes here: the trace, the debugger, its break mask.
    void exception_taken(ArmCore& core, ExceptionType type, uint32_t preferred_return);
    /// The run loop's work before the core runs: host requests, due events, ending
    /// conditions, interrupt delivery (due events and interrupts are left alone when
    /// `deliver` is false). Returns the outcome if the run ends; otherwise the clock's
    /// stop_at is set for the next slice.
    std::optional<RunOutcome> prepare_slice(ArmCore& core, bool deliver = true);
    /// prepare_slice()'s part that concerns no core: host requests, due events (if
    /// `run_events`), a pending reset, power-off or exit.
    std::optional<RunOutcome> between_slices(bool run_events);
    void write_trace();
    /// Writes to an output file (a UART log, the kernel log), remembering the first
    /// failure's errno for output_errors().
    void out_write(FILE* f, const void* data, size_t n);
    void out_putc(FILE* f, int c);
    /// Every character UART0 sends, for set_uart_dump().
    void uart0_sent(uint8_t c);
    std::string uart_dump_text_;
    std::function<void(std::string_view)> uart_dump_;
    std::string uart_line_;        ///< the line UART0 is sending (its first 4 KiB)
    std::string uart_dump_marker_; ///< the marker line whose next character dumps too
    int& out_error(FILE* f);
    /// Takes a pending interrupt: into the kernel model, or the guest's vectors.
    void deliver_interrupts(ArmCore& core);
    /// A watchdog reset with --reboot: every device and core back to reset, the image
    /// loaded again, as the Pi firmware would after a reset.
    ErrorOr<void> reboot();
    /// Handles a stop the guest caused; returns an outcome when the run must end.
    std::optional<RunOutcome> handle_stop(ArmCore& core, const StopInfo& stop);
    /// The core stopped on a kernel-model gate: run it, end the run if it says so.
    std::optional<RunOutcome> enter_kernel_gate(ArmCore& core);
    /// The kernel gate a core meets inside its run (ArmCore::set_code_trap): runs it
    /// there, as enter_kernel_gate() does at a stop. An outcome it produces waits in
    /// gate_outcome_ for handle_stop().
    ArmCore::TrapAction kernel_gate_in_run(ArmCore& core, uint32_t pc);
    std::optional<RunOutcome> idle_until_event();

    // ---- several cores (smp.cpp)
    /// How a core takes part in the run. Only Running cores execute guest code.
    enum class CoreState {
        Parked,    ///< in the firmware's boot loop: waits for its mailbox 3 (host-modelled)
        Running,   ///< runs its share of each round
        WaitIrq,   ///< in WFI: until an interrupt is pending (masked or not)
        WaitEvent, ///< in WFE: until its event register is set or an unmasked interrupt
    };
    struct CoreRun {
        CoreState state = CoreState::Running;
        uint64_t local = 0; ///< this core's own virtual time (cycles)
    };
    /// Every core back to its boot state: core 0 runs, the others are parked (or run
    /// from the entry with --smp-start all).
    void reset_core_runs();
    /// The local controller's observer: a write to core `core`'s mailbox `mailbox`.
    void mailbox_written(unsigned core, unsigned mailbox);
    /// Starts each parked core whose mailbox 3 holds an address, as the firmware's
    /// spin loop does. Returns true if one started.
    bool start_parked_cores();
    /// A core executed WFI or WFE (`wfe`): idles it, or in single-core mode waits.
    std::optional<RunOutcome> core_waits(ArmCore& core, bool wfe);
    /// Signals the event of an SEV the core executed to every core.
    void broadcast_sev(ArmCore& core);
    /// After an Inner Shareable TLB maintenance operation the core executed: drops
    /// every other core's TLB. Only the round-robin needs it: before it, the other
    /// cores have not run (a secondary's MMU comes on through a trapped SCTLR write,
    /// which drops its TLB), and the stepper and gdb run core 0 alone.
    void broadcast_tlb_maintenance(ArmCore& core);
    /// True if waiting core `cpu` has a reason to run again by time `by` (consumes
    /// WFE's event); its local time moves to when that reason arose if later.
    bool core_wakes(unsigned cpu, uint64_t by);
    /// The run loop once a second core runs: rounds of `quantum` cycles, until the
    /// run ends (the outcome) or a reset parks the secondaries again (nullopt).
    std::optional<RunOutcome> run_smp();
    /// Round boundaries: host requests, due events, resets, limits.
    std::optional<RunOutcome> prepare_round();
    /// Core `cpu`'s share of the round that ends at `end`.
    std::optional<RunOutcome> run_core_slice(unsigned cpu, uint64_t end);
    /// The earliest time waiting core `cpu` has a reason to run again (its wake-up
    /// condition holds from then, considering what is pending now), or
    /// VirtualClock::kNever (core_wakes() without consuming).
    uint64_t core_wake_time(unsigned cpu) const;
    /// The one core that can run in a round starting at `start` while every other
    /// waits with nothing pending or is parked, or -1.
    int solo_core(uint64_t start) const;
    /// A core other than `cpu` could run now (or a parked one is to start).
    bool other_core_runnable(unsigned cpu) const;
    /// No core can run: time jumps from event to event until one can (or the run ends).
    std::optional<RunOutcome> idle_all_cores();
    std::optional<RunOutcome> insn_limit_reached();
    /// The first cycle not to run any more with --duration (kNever without it).
    uint64_t duration_end() const;

    BoardInfo board_;
    MachineOptions options_;
    VirtualClock clock_;
    Bus bus_;
    std::vector<std::unique_ptr<ArmCore>> cores_;
    std::vector<CoreRun> runs_;   ///< per core, as cores_
    bool smp_ = false;            ///< the round-robin runs (a second core left its parking)
    bool start_pending_ = false;  ///< a parked core's mailbox 3 was written
    bool round_cut_ = false;      ///< end the current round early (a reset, an exit)
    unsigned current_cpu_ = 0;    ///< the core whose guest code runs (0 between rounds)
    unsigned last_slice_cpu_ = 0; ///< the core that ran the last slice of a round
    uint64_t round_end_ = 0;      ///< the end of the round being run
    /// The round's one runnable core runs alone (every other waits with nothing
    /// pending): the round lasts to the next timer event, unless that core makes
    /// another one runnable, which cuts it (solo_cut_).
    bool solo_round_ = false;
    bool solo_cut_ = false;
    bool debugging_ = false; ///< a debugger drives core 0 alone (debug_step/continue)
    std::optional<RunOutcome> gate_outcome_; ///< how a gate run inside a run ended it
    Bcm2836LocalIntc* local_intc_ = nullptr;
    std::vector<std::unique_ptr<IrqLine>> pmu_lines_; // PMU not modelled: never raised
    std::vector<uint8_t> board_dtb_; ///< --board-dtb's contents (the board was built from them)
    std::unique_ptr<BuiltBoard> built_;
    std::unique_ptr<kernel::KernelModel> kernel_;
    std::unique_ptr<trace::Recorder> recorder_;
    bool trace_written_ = false; ///< --trace -: standard output written
    std::unique_ptr<trace::IrqTracer> irq_tracer_;
    uint32_t trace_idle_comm_ = 0;
    /// piemu:irq_line and --vcd: every observed line's (device, line) names and VCD
    /// wire, by observer tag.
    struct LineTracer : IrqLineObserver {
        Machine* m = nullptr;
        bool record = false;                              ///< piemu:irq_line is recorded
        std::vector<std::pair<uint32_t, uint32_t>> names; // interned device, line
        std::vector<uint32_t> wires;                      // VcdWriter wire indices
        std::vector<int> cpus;                            // the line's core (observe_line), or -1
        void irq_line_changed(uint32_t tag, bool level) override;
    } line_tracer_;
    std::unique_ptr<trace::VcdWriter> vcd_;
    /// Observes every interrupt line for piemu:irq_line and --vcd, and counts the
    /// controllers' deliveries.
    ErrorOr<void> setup_line_observers();
    void setup_delivery_counts();
    std::unique_ptr<DeliveryCounts> deliveries_;
    /// `cpu`: the core the line belongs to (its timer, its pins), whose CPU column the
    /// line's events take; -1 for the others.
    void observe_line(IrqLine* line, const std::string& device, const std::string& name,
                      int cpu = -1);
    class KernelTracer; ///< the kernel model's sched/softirq trace points (machine.cpp)
    class MmioTracer;   ///< piemu:mmio (machine.cpp)
    std::unique_ptr<MmioTracer> mmio_tracer_;
    std::unique_ptr<KernelTracer> kernel_tracer_;
    /// Per CPU: the task whose comm trace_comm_ holds, interned.
    std::vector<const void*> trace_comm_task_;
    std::vector<uint32_t> trace_comm_;
    bool console_ = false; ///< the kernel log goes to the UART output (a guest runs)
    FILE* dmesg_ = nullptr;
    Pl011* uart0_ = nullptr;
    Bcm2835Aux* uart1_ = nullptr;
    std::unique_ptr<Semihosting> semihosting_;
    std::unique_ptr<SdCard> sd_card_; ///< --sd, in the SD host's slot
    LoadedImage image_;
    std::vector<Symbol> extra_symbols_; ///< add_symbols()
    std::optional<uint32_t> load_addr_;
    std::optional<LinuxBootParams> linux_;
    FILE* uart_out_ = nullptr;
    bool uart_out_owned_ = false;
    int uart_in_fd_ = -1;
    FILE* uart1_out_ = nullptr;
    bool uart1_out_owned_ = false;
    int uart1_in_fd_ = -1;
    // errno of the first failed write to each output (0: none), for output_errors().
    int uart_out_error_ = 0, uart1_out_error_ = 0, dmesg_error_ = 0, trace_error_ = 0,
        stdout_error_ = 0, other_error_ = 0;
    std::atomic<bool> stop_requested_{false}; // set from signal handlers
    std::atomic<bool> dump_requested_{false};
    bool dump_on_signal_ = false;
    std::function<void()> dump_;
    std::unique_ptr<TimerEvent> dump_timer_;
    std::optional<RunOutcome> pending_exit_;
    unsigned exception_loop_ = 0;
    DebugObserver* debug_observer_ = nullptr;
    unsigned exception_breaks_ = 0;
    uint64_t exceptions_taken_ = 0;
    std::array<uint64_t, 7> exception_counts_{}; ///< by ExceptionType
    std::function<void()> progress_;             ///< set_progress()
    uint64_t progress_slice_ = 0;
    std::optional<ExceptionType> exception_break_; ///< a break-mask exception was taken
    uint32_t last_vector_ = ~0u; ///< PC right after the last synchronous exception entry
};

} // namespace piemu
