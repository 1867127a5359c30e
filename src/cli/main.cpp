// The piemu command line: `piemu run`, `piemu boards`.
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "board/board_builder.hpp"
#include "cli/progress.hpp"
#include "cli/step_session.hpp"
#include "debug/gdb_stub.hpp"
#include "debug/gdb_transport.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/exit_status.hpp"
#include "piemu/loader.hpp"
#include "piemu/machine.hpp"
#include "piemu/trace.hpp"
#include "trace/plot.hpp"

namespace {

piemu::Machine* g_running = nullptr;

void on_signal(int sig) {
    if (!g_running)
        return;
    if (sig == SIGUSR1)
        g_running->request_interrupts_dump();
    else
        g_running->request_stop();
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1})
        sigaction(sig, &sa, nullptr);
}

// "10m", "2s", "1.5s", "500ms", "100us", "20ns" -> nanoseconds.
std::optional<uint64_t> parse_duration_ns(const std::string& text) {
    size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
        ++i;
    if (i == 0)
        return std::nullopt;
    std::string unit = text.substr(i);
    double scale = unit == "m"    ? 60e9
                   : unit == "s"  ? 1e9
                   : unit == "ms" ? 1e6
                   : unit == "us" ? 1e3
                   : unit == "ns" ? 1
                                  : 0;
    if (scale == 0)
        return std::nullopt;
    std::string number = text.substr(0, i); // strtod's end pointer points into it
    char* end = nullptr;
    double v = std::strtod(number.c_str(), &end);
    if (!end || *end || v <= 0)
        return std::nullopt;
    return uint64_t(v * scale + 0.5);
}

/// --timeout: a host-time watchdog. A thread waits for the time to pass and then stops
/// the run as SIGTERM does (Machine::request_stop(), safe from any thread); the run
/// loop ends at its next block boundary and the outputs are written as after a signal.
/// Host time never reaches the guest: only when the run ends depends on it.
class HostTimeout {
public:
    HostTimeout(piemu::Machine& machine, uint64_t ns)
        : thread_([this, &machine, ns] {
              std::unique_lock lock(mutex_);
              if (!done_cv_.wait_for(lock, std::chrono::nanoseconds(ns),
                                     [this] { return done_; })) {
                  expired_ = true;
                  machine.request_stop();
              }
          }) {}
    ~HostTimeout() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        done_cv_.notify_all();
        thread_.join();
    }
    HostTimeout(const HostTimeout&) = delete;
    HostTimeout& operator=(const HostTimeout&) = delete;
    bool expired() const { return expired_; }

private:
    std::mutex mutex_;
    std::condition_variable done_cv_;
    bool done_ = false;
    std::atomic<bool> expired_{false};
    std::thread thread_; // last: starts once the members above exist
};

struct DumpPlan {
    bool at_exit = false;
    bool on_signal = false;
    uint64_t every_ns = 0;
    std::string uart_text; ///< uart:TEXT ("" = none)
};

std::optional<DumpPlan> parse_dump_plan(const std::string& v) {
    DumpPlan p;
    if (v == "exit")
        p.at_exit = true;
    else if (v == "signal")
        p.on_signal = true;
    else if (v.rfind("uart:", 0) == 0) {
        p.uart_text = v.substr(5);
        if (p.uart_text.empty() || p.uart_text.find('\n') != std::string::npos)
            return std::nullopt;
    } else if (v.rfind("every:", 0) == 0) {
        auto ns = parse_duration_ns(v.substr(6));
        if (!ns)
            return std::nullopt;
        p.every_ns = *ns;
    } else {
        return std::nullopt;
    }
    return p;
}

int fail(const std::string& message, int status = piemu::kExitBadInput) {
    std::fflush(stdout);
    std::fprintf(stderr, "piemu: %s\n", message.c_str());
    return status;
}

/// errno of the first failed flush of stdout after the run (the dumps), for
/// with_output_errors().
int g_stdout_errno = 0;

void flush_stdout() {
    errno = 0;
    if (std::fflush(stdout) == EOF && !g_stdout_errno)
        g_stdout_errno = errno ? errno : EIO;
}

/// Reports each output file a write to which failed (disk full, I/O error), one line
/// each, after the run's own messages: the status is then kExitOutputError.
int with_output_errors(piemu::Machine& machine, int status) {
    std::vector<std::string> errors = machine.output_errors();
    // What was printed to stdout after the run (dumps) fails here if stdout does.
    bool stdout_reported = false;
    for (const auto& e : errors)
        stdout_reported = stdout_reported || e.starts_with("stdout:");
    flush_stdout();
    if ((g_stdout_errno || std::ferror(stdout)) && !stdout_reported)
        errors.push_back(fmt::format("stdout: write failed: {}",
                                     std::strerror(g_stdout_errno ? g_stdout_errno : EIO)));
    for (const auto& e : errors)
        std::fprintf(stderr, "piemu: %s\n", e.c_str());
    return errors.empty() ? status : piemu::kExitOutputError;
}

struct RunArgs {
    std::string image;
    piemu::MachineOptions machine;
    std::optional<uint32_t> load_addr;
    std::optional<std::string> dtb, initrd, append;
    std::string symbols; ///< --symbols System.map ("" = none)
    bool stats = false;
    bool dump_tasks = false;
    bool dump_dmesg = false;
    std::string dump_interrupts; ///< "", "exit", "signal" or "every:TIME"
    std::string gdb;             ///< --gdb tcp::PORT: serve gdb ("" = no)
    bool gdb_wait = false;
    bool gdb_allow_remote = false;
    std::string timeout; ///< --timeout TIME of host time ("" = none)
    uint64_t timeout_ns = 0;
    bool progress = false;                       ///< --progress: the status line on a terminal
    uint64_t progress_interval_ns = 250'000'000; ///< --progress-interval (host time)
    bool progress_interval_set = false;
};

/// The gdb server's endpoint from --gdb, checked before anything else is done.
std::optional<piemu::gdb::Endpoint> parse_gdb_options(const RunArgs& a, int& status) {
    if (a.gdb.empty()) {
        if (a.gdb_wait || a.gdb_allow_remote)
            status = fail(fmt::format("{} needs --gdb tcp::PORT",
                                      a.gdb_wait ? "--gdb-wait" : "--gdb-allow-remote"));
        return std::nullopt;
    }
    auto endpoint = piemu::gdb::parse_endpoint(a.gdb, a.gdb_allow_remote);
    if (endpoint.is_error()) {
        status = fail(endpoint.error().message);
        return std::nullopt;
    }
    return endpoint.release_value();
}

/// Listens for gdb; the line on stderr names the port (the system's choice for 0).
std::unique_ptr<piemu::gdb::TcpTransport>
listen_for_gdb(const RunArgs& a, const piemu::gdb::Endpoint& at, int& status) {
    auto listening = piemu::gdb::TcpTransport::listen(at, a.gdb);
    if (listening.is_error()) {
        status = fail(listening.error().message);
        return nullptr;
    }
    auto transport = listening.release_value();
    if (!at.loopback)
        std::fprintf(stderr,
                     "piemu: warning: the gdb server on %s is not on loopback: anyone who can "
                     "reach it controls the guest\n",
                     at.host.c_str());
    std::fprintf(stderr, "piemu: gdb server listening on %s:%u\n", at.host.c_str(),
                 unsigned(transport->port()));
    return transport;
}

/// The output files a run creates (UART logs, trace, VCD, kernel log): those that did not
/// exist before are removed again if the run is rejected before it starts, so that bad
/// input leaves no partial output behind. keep() once the guest runs.
class NewOutputs {
public:
    explicit NewOutputs(const piemu::MachineOptions& o) {
        for (const std::string* p : {&o.uart, &o.uart1, &o.trace_file, &o.vcd_file, &o.dmesg})
            if (!p->empty() && *p != "stdio" && *p != "none" && *p != "-" &&
                ::access(p->c_str(), F_OK) != 0)
                paths_.push_back(*p);
    }
    ~NewOutputs() {
        for (const auto& p : paths_)
            ::unlink(p.c_str());
    }
    NewOutputs(const NewOutputs&) = delete;
    NewOutputs& operator=(const NewOutputs&) = delete;
    void keep() { paths_.clear(); }

private:
    std::vector<std::string> paths_;
};

/// Creates the machine `a` describes and loads its image (or starts the kernel model
/// idle). On failure, prints the error and returns null with the exit status in `status`.
/// `debugger`: piemu step or --gdb, which drive core 0 alone.
std::unique_ptr<piemu::Machine> create_machine(RunArgs& a, int& status, bool debugger) {
    // A tiny guest (ELF note) runs on the kernel model without being told to.
    if (!a.image.empty() && piemu::image_declares_kernel_model(a.image))
        a.machine.kernel_model = true;
    // A debugger drives core 0 alone: the kernel model brings up that CPU only.
    if (debugger && a.machine.kernel_model) {
        if (a.machine.maxcpus > 1) {
            status = fail(fmt::format("--maxcpus {}: piemu step and --gdb run core 0 alone "
                                      "(use --maxcpus 1)",
                                      a.machine.maxcpus));
            return nullptr;
        }
        a.machine.maxcpus = 1;
    }
    std::vector<piemu::Symbol> symbols;
    if (!a.symbols.empty()) {
        auto map = piemu::load_system_map(a.symbols);
        if (map.is_error()) {
            status = fail("--symbols " + map.error().message);
            return nullptr;
        }
        symbols = map.release_value();
    }
    auto created = piemu::Machine::create(a.machine);
    if (created.is_error()) {
        status = fail(created.error().message);
        return nullptr;
    }
    auto machine = created.release_value();

    piemu::ErrorOr<void> loaded;
    if (a.image.empty()) {
        if (!a.machine.kernel_model) {
            status = fail("IMAGE is required (or --kernel-model to run the kernel model alone)");
            return nullptr;
        }
        machine->start_idle();
    } else if (a.dtb || a.initrd || a.append) {
        if (!a.dtb) {
            status = fail("--initrd/--append need --dtb (the Linux boot protocol passes a DTB)");
            return nullptr;
        }
        loaded = machine->load_linux({a.image, *a.dtb, a.initrd, a.append});
    } else {
        loaded = machine->load(a.image, a.load_addr);
    }
    if (loaded.is_error()) {
        status = fail(loaded.error().message);
        return nullptr;
    }
    if (!symbols.empty())
        machine->add_symbols(symbols);
    return machine;
}

int cmd_run(RunArgs a) {
    int status = 0;
    if (a.progress_interval_set && !a.progress)
        return fail("--progress-interval needs --progress");
    auto gdb_at = parse_gdb_options(a, status);
    if (status)
        return status;
    NewOutputs outputs(a.machine);
    auto machine = create_machine(a, status, gdb_at.has_value());
    if (!machine)
        return status;

    DumpPlan dump;
    // The kernel model's /proc/interrupts, or without it the deliveries counted at the
    // controllers.
    auto show_interrupts = [&machine]() -> std::string {
        if (auto* k = machine->kernel_model())
            return k->irq().show_interrupts();
        return machine->deliveries().show(machine->clock().now_ns());
    };
    if (!a.dump_interrupts.empty()) {
        auto plan = parse_dump_plan(a.dump_interrupts);
        if (!plan)
            return fail("--dump-interrupts " + a.dump_interrupts +
                        ": expected exit, signal, every:TIME (e.g. every:1s) or uart:TEXT");
        dump = *plan;
        machine->set_interrupts_dump(dump.every_ns, dump.on_signal, [&show_interrupts] {
            std::fputs(show_interrupts().c_str(), stdout);
        });
        if (!dump.uart_text.empty())
            machine->set_uart_dump(dump.uart_text, [&show_interrupts](std::string_view when) {
                std::fputs(fmt::format("piemu: {}\n{}", when, show_interrupts()).c_str(), stdout);
            });
    }

    g_running = machine.get();
    install_signal_handlers();
    std::optional<HostTimeout> timeout;
    // Listening is announced once a signal can end the wait for a client.
    std::unique_ptr<piemu::gdb::TcpTransport> gdb;
    if (gdb_at && !(gdb = listen_for_gdb(a, *gdb_at, status))) {
        g_running = nullptr;
        return status;
    }
    outputs.keep(); // the run starts: what it writes stays, whatever the outcome
    if (a.timeout_ns)
        timeout.emplace(*machine, a.timeout_ns);
    // Null unless stderr is a terminal (main() claimed it): then nothing changes.
    std::unique_ptr<piemu::cli::Progress> progress;
    if (a.progress)
        progress = piemu::cli::Progress::start(*machine, a.progress_interval_ns);
    piemu::RunOutcome outcome =
        gdb ? piemu::gdb::GdbStub(*machine, *gdb).serve(a.gdb_wait) : machine->run();
    g_running = nullptr;
    progress.reset(); // the line erased before anything else is printed
    if (timeout && timeout->expired() && outcome.kind == piemu::RunOutcome::Kind::HostSignal) {
        outcome.exit_status = piemu::kExitHostTimeout;
        outcome.message = "--timeout " + a.timeout + " of host time expired";
    }
    timeout.reset();
    machine->flush_outputs();
    // The dumps, the stats line and the outcome's status; then any output that could
    // not be written overrides it.
    auto finish = [&]() -> int {
        if (a.dump_dmesg) {
            if (!machine->kernel_model())
                return fail("--dump-dmesg needs the kernel model (--kernel-model or a tiny guest)");
            std::fputs(machine->kernel_model()->log().dmesg().c_str(), stdout);
            flush_stdout();
        }
        if (a.dump_tasks) {
            if (!machine->kernel_model())
                return fail("--dump-tasks needs the kernel model (--kernel-model or a tiny guest)");
            std::fputs(machine->kernel_model()->dump_tasks().c_str(), stdout);
            flush_stdout();
        }
        if (dump.at_exit) {
            std::fputs(show_interrupts().c_str(), stdout);
            flush_stdout();
        }
        if (a.stats) {
            // Deterministic numbers only: the determinism tests compare this line.
            uint64_t ns = machine->clock().now_ns();
            std::fprintf(
                stderr, "piemu: stats: %llu instructions, %llu cycles, %llu.%09llu s virtual\n",
                (unsigned long long)machine->instructions(),
                (unsigned long long)machine->clock().now(), (unsigned long long)(ns / 1000000000),
                (unsigned long long)(ns % 1000000000));
        }
        using Kind = piemu::RunOutcome::Kind;
        if (outcome.kind == Kind::PowerOff || outcome.kind == Kind::Reset ||
            outcome.kind == Kind::Duration) {
            spdlog::info("{}", outcome.message); // as QEMU -no-reboot: a normal end
            return outcome.exit_status;
        }
        if (outcome.kind != Kind::GuestExit)
            return fail(outcome.message, outcome.exit_status);
        return outcome.exit_status;
    };
    return with_output_errors(*machine, finish());
}

int cmd_step(RunArgs a, const piemu::cli::StepOptions& options) {
    int status = 0;
    auto machine = create_machine(a, status, true);
    if (!machine)
        return status;
    g_running = machine.get();
    install_signal_handlers();
    status = piemu::cli::step_session(*machine, options);
    g_running = nullptr;
    machine->flush_outputs();
    return with_output_errors(*machine, status);
}

int cmd_boards(const std::string& show, const std::string& board_dtb) {
    if (show.empty()) {
        for (auto& b : piemu::boards())
            std::printf("%-10s %s\n", b.name.c_str(), b.description.c_str());
        return 0;
    }
    piemu::MachineOptions options;
    options.board = show;
    options.board_dtb = board_dtb;
    options.uart = "none";
    auto machine = piemu::Machine::create(options);
    if (machine.is_error())
        return fail(machine.error().message);
    std::fputs(piemu::describe_board(machine.value()->built_board()).c_str(), stdout);
    return 0;
}

const char* kExitStatusHelp = R"(Exit status of `piemu run`:
  0-255  the guest's own exit code (semihosting SYS_EXIT / SYS_EXIT_EXTENDED);
         0 also when the guest resets the board (watchdog) or powers it off
  2      bad input: command line, image, DTB or output file rejected
  70     internal error in piemu
  74     an output file (UART log, trace, VCD, kernel log, stdout) could not be
         written (disk full, I/O error); the run itself ended as its message says
  122    the kernel model panicked (an Oops in kernel-model guest code)
  123    the guest waits (WFI/WFE) for an interrupt nothing can raise
  121    --timeout (host time) expired (outputs are complete)
  124    --max-insns reached
  125    the guest faulted in a way no exception vector can take
  130    stopped by SIGINT, SIGTERM or SIGHUP (outputs are complete)
  137    killed from gdb (`kill` with --gdb)
)";

} // namespace

void add_run_options(CLI::App* cmd, RunArgs& run) {
    cmd->add_option("IMAGE", run.image,
                    "ELF executable, raw image, or Linux kernel (optional with --kernel-model: "
                    "the cores then idle)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--board", run.machine.board, "Board to emulate (see `piemu boards`)")
        ->capture_default_str();
    cmd->add_option("--board-dtb", run.machine.board_dtb,
                    "Build the board from this device tree blob instead of its built-in one "
                    "(e.g. boards/raspi3b.dts edited and compiled with dtc)")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--kernel-model", run.machine.kernel_model,
                  "Interrupts go to piemu's model of the Linux 4.14 interrupt subsystem "
                  "(genirq) with its built-in drivers");
    cmd->add_option("--dump-interrupts", run.dump_interrupts,
                    "Print the kernel model's /proc/interrupts (without the kernel model: "
                    "the interrupts delivered at each controller input, per core): at exit, "
                    "on SIGUSR1 (signal), every TIME of virtual time (every:1s), or at the "
                    "end of each UART line holding TEXT and at the next character (uart:TEXT)")
        ->expected(0, 1)
        ->default_str("exit");
    cmd->add_option("--dmesg", run.machine.dmesg, "Write the kernel model's log to this file");
    cmd->add_flag("--dump-dmesg", run.dump_dmesg,
                  "At exit, print the kernel model's log ring as `dmesg` does");
    cmd->add_flag("--dump-tasks", run.dump_tasks,
                  "At exit, print the kernel model's tasks as `ps -ely` does");
    cmd->add_flag("--panic-on-bug", run.machine.panic_on_bug,
                  "A kernel-model BUG (sleeping in atomic context) panics: exit status 122");
    cmd->add_flag("--threadirqs", run.machine.threadirqs,
                  "Force-thread interrupt handlers, as Linux's `threadirqs` boot option");
    cmd->add_option("--trace", run.machine.trace_file,
                    "Record events and write them in ftrace's `trace` format to FILE (- for "
                    "standard output) at the end of the run (docs/trace-events.md)");
    cmd->add_option("--events", run.machine.trace_events,
                    "Events to record, e.g. irq,sched:sched_switch,piemu:* [default: all "
                    "but piemu:mmio]");
    cmd->add_option("--trace-irq", run.machine.trace_irqs,
                    "Record irq_handler_entry/exit only for these irqs (e.g. 23,92)")
        ->delimiter(',');
    cmd->add_option("--trace-buffer", run.machine.trace_buffer,
                    "Bytes of ring buffer per CPU (oldest events dropped) [default: 1441792]");
    cmd->add_flag("--trace-functions", run.machine.trace_functions,
                  "Also record function-tracer lines of the kernel model's interrupt path");
    cmd->add_option("--vcd", run.machine.vcd_file,
                    "Write the interrupt lines (devices, controllers, cores) as a Value Change "
                    "Dump over virtual time to FILE, for GTKWave");
    cmd->add_option("--smp-start", run.machine.smp_start,
                    "Where cores 1-3 start: parked (in the firmware's boot loop until an "
                    "entry address is written to their mailbox 3) or all (at the image's "
                    "entry, as QEMU's -kernel)")
        ->check(CLI::IsMember({"parked", "all"}))
        ->capture_default_str();
    cmd->add_option("--quantum", run.machine.quantum,
                    "While several cores run: instructions each core runs per round of the "
                    "deterministic round-robin")
        ->capture_default_str();
    cmd->add_option("--maxcpus", run.machine.maxcpus,
                    "Kernel model: CPUs to bring up, as Linux's maxcpus= boot option "
                    "[default: every core of the board]")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--max-insns", run.machine.max_insns,
                    "Stop after N guest instructions (exit status 124); 0 = no limit");
    cmd->add_option_function<std::string>(
        "--duration",
        [&run](const std::string& v) {
            auto ns = parse_duration_ns(v);
            if (!ns)
                throw CLI::ValidationError("--duration",
                                           v + ": expected a time such as 2s, 500ms or 100us");
            run.machine.duration_ns = *ns;
        },
        "End the run normally (status 0) after this much virtual time (e.g. 2s, 500ms)");
    cmd->add_option("--uart", run.machine.uart,
                    "Where PL011 output goes: stdio (or -), none, or a file")
        ->capture_default_str();
    cmd->add_option("--sd", run.machine.sd_image,
                    "SD card image (a multiple of 512 bytes) in the SD host's slot; writes "
                    "reach the file before each command completes")
        ->check(CLI::ExistingFile);
    cmd->add_flag("--sd-readonly", run.machine.sd_readonly, "The SD card is write-protected");
    cmd->add_option("--sd-host", run.machine.sd_host,
                    "Which host's slot holds the --sd card: sdhost (BCM2835 SDHOST) or sdhci "
                    "(the Arasan EMMC); the other slot is empty")
        ->check(CLI::IsMember({"sdhost", "sdhci"}))
        ->capture_default_str();
    cmd->add_option("--uart-input", run.machine.uart_input,
                    "What the PL011 receives: none, stdin, or a file (read at the UART's baud "
                    "rate in virtual time)")
        ->capture_default_str();
    // QEMU's second -serial: the mini UART. `--uart none --uart1 stdio` makes it the
    // console, as `-serial null -serial stdio` does.
    cmd->add_option(
           "--uart1", run.machine.uart1,
           "Where the mini UART's (UART1, serial1) output goes: stdio (or -), none, or a file")
        ->capture_default_str();
    cmd->add_option("--uart1-input", run.machine.uart1_input,
                    "What the mini UART receives: none, stdin, or a file (read at its baud rate "
                    "in virtual time)")
        ->capture_default_str();
    cmd->add_option("--load-addr", run.load_addr,
                    "Load address of a raw (non-ELF) image [default: 0x8000]");
    cmd->add_option("--dtb", run.dtb, "Device tree blob: boots IMAGE as a Linux kernel")
        ->check(CLI::ExistingFile);
    cmd->add_option("--initrd", run.initrd, "Initial ramdisk for a Linux kernel")
        ->check(CLI::ExistingFile);
    cmd->add_option("--append", run.append, "Kernel command line (/chosen/bootargs)");
    cmd->add_option("--symbols", run.symbols,
                    "Symbolize guest addresses (piemu step, the kernel model's %pS) with "
                    "this System.map too (nm format: c0301424 T name), e.g. a kernel's");
    cmd->add_flag("--strict-mmio", run.machine.strict_mmio,
                  "Accesses to unclaimed physical pages abort instead of reading 0");
    cmd->add_flag("--reboot", run.machine.reboot,
                  "A watchdog reset restarts the guest instead of ending the run");
    cmd->add_flag("--stats", run.stats,
                  "At exit, print instructions retired and virtual time on stderr");
    cmd->footer(kExitStatusHelp);
}

/// --timeout for `run` and `interrupts` (`step` waits for its user).
void add_timeout_option(CLI::App* cmd, RunArgs& run) {
    cmd->add_option_function<std::string>(
        "--timeout",
        [&run](const std::string& v) {
            auto ns = parse_duration_ns(v);
            if (!ns)
                throw CLI::ValidationError("--timeout",
                                           v + ": expected a time such as 30s, 500ms or 10m");
            run.timeout = v;
            run.timeout_ns = *ns;
        },
        "End the run after this much host (wall-clock) time, e.g. 30s: exit status 121 "
        "(--duration counts virtual time)");
}

/// --progress for `run` and `interrupts`.
void add_progress_options(CLI::App* cmd, RunArgs& run) {
    cmd->add_flag(
        "--progress", run.progress,
        "While the run goes on, show a status line on stderr if it is a terminal: virtual "
        "time, guest MIPS, interrupts per second of virtual time, the current task (or "
        "core mode); erased at the end");
    cmd->add_option_function<std::string>(
        "--progress-interval",
        [&run](const std::string& v) {
            auto ns = parse_duration_ns(v);
            if (!ns)
                throw CLI::ValidationError("--progress-interval",
                                           v + ": expected a time such as 250ms or 1s");
            run.progress_interval_ns = *ns;
            run.progress_interval_set = true;
        },
        "How often --progress redraws, in host time [default: 250ms]");
}

int main(int argc, char** argv) {
    CLI::App app{"piemu: a Raspberry Pi 2/3 emulator with a model of Linux's interrupt "
                 "subsystem",
                 "piemu"};
    app.require_subcommand(1);
    app.footer(kExitStatusHelp);
    std::string log_level = "warn";
    app.add_option("--log", log_level, "Log level for piemu's own messages")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->capture_default_str();

    RunArgs run;
    CLI::App* run_cmd = app.add_subcommand("run", "Run a guest image");
    add_run_options(run_cmd, run);
    run_cmd->add_option("--gdb", run.gdb,
                        "Serve the gdb remote protocol on tcp::PORT (127.0.0.1) or "
                        "tcp:HOST:PORT; port 0 picks a free one (docs/debugging.md)");
    run_cmd->add_flag("--gdb-wait", run.gdb_wait,
                      "With --gdb: wait for gdb to connect before the guest runs");
    run_cmd->add_flag("--gdb-allow-remote", run.gdb_allow_remote,
                      "With --gdb: allow a HOST that is not a loopback address");
    add_timeout_option(run_cmd, run);
    add_progress_options(run_cmd, run);
    CLI::App* irq_cmd = app.add_subcommand(
        "interrupts", "Run, then print the interrupt counts (as `run --dump-interrupts`): "
                      "without IMAGE, or with --kernel-model or a tiny guest, the kernel "
                      "model's /proc/interrupts; with a bare IMAGE or a Linux kernel, the "
                      "interrupts delivered at each controller input, per core");
    add_run_options(irq_cmd, run);
    add_timeout_option(irq_cmd, run);
    add_progress_options(irq_cmd, run);

    RunArgs step_run;
    piemu::cli::StepOptions step;
    CLI::App* step_cmd = app.add_subcommand(
        "step", "Single-step a guest: each instruction with its register and memory changes, "
                "exception entries and the kernel model's C++ steps (docs/debugging.md)");
    add_run_options(step_cmd, step_run);
    step_cmd->add_option("--break", step.breaks,
                         "Run to the first of these, then step: irq, fiq, svc, abort, undef "
                         "(that exception's entry), a SYMBOL or an ADDR (repeatable)");
    step_cmd->add_option("--steps", step.steps, "Step N instructions (after --break)");
    step_cmd->add_option("--until", step.until,
                         "Step until SYMBOL is reached, a guest handler is called (handler) or "
                         "the current exception returns (return)");
    step_cmd->add_option("--script", step.script,
                         "Read commands from FILE (default: the terminal, or stdin when it is "
                         "not one)");

    CLI::App* trace_cmd = app.add_subcommand("trace", "Work with ftrace-format trace files");
    trace_cmd->require_subcommand(1);
    CLI::App* diff_cmd = trace_cmd->add_subcommand(
        "diff", "Compare two traces: first divergence with context and an event summary; "
                "exit 0 when equal, 1 when different, 2 on unreadable input");
    diff_cmd->allow_extras();
    diff_cmd->footer("Usage: piemu trace diff EXPECTED ACTUAL [--ignore-timestamps] "
                     "[--events LIST] [--context N]");
    CLI::App* plot_cmd = trace_cmd->add_subcommand(
        "plot", "Draw a trace as an SVG timeline: a row per CPU and per IRQ line, handler "
                "spans as boxes; exit 0 when written, 2 on bad arguments, an unreadable "
                "trace or an unwritable output");
    plot_cmd->allow_extras();
    plot_cmd->footer("Usage: piemu trace plot TRACE -o FILE.svg [--from T] [--to T] "
                     "[--width PX] (T: seconds as the trace prints them, or 1.5ms, 250us, "
                     "20ns; default: the whole trace; --width default 1200)");

    CLI::App* boards_cmd = app.add_subcommand("boards", "List the boards piemu emulates");
    std::string show_board;
    boards_cmd->add_option("--show", show_board,
                           "Show a board's device tree: each node, its model (or \"not "
                           "modelled\"), address and interrupt wiring");
    std::string show_board_dtb;
    boards_cmd
        ->add_option("--board-dtb", show_board_dtb,
                     "With --show: the board built from this device tree blob instead")
        ->check(CLI::ExistingFile);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0)
            return app.exit(e);
        return fail(fmt::format("{} (see `piemu --help`)", e.what()));
    }

    // --progress on a terminal: stdout and stderr erase the status line before they
    // write, so they must be replaced before the logger takes stderr.
    if ((*run_cmd || *irq_cmd) && run.progress)
        piemu::cli::claim_terminal();
    auto logger = spdlog::stderr_logger_st("piemu");
    logger->set_pattern("piemu: %l: %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(log_level));

    if (*irq_cmd) {
        if (run.image.empty())
            run.machine.kernel_model = true; // nothing else to run
        if (run.dump_interrupts.empty())
            run.dump_interrupts = "exit";
    }
    if (*run_cmd || *irq_cmd)
        return cmd_run(run);
    if (*step_cmd)
        return cmd_step(step_run, step);
    if (*boards_cmd)
        return cmd_boards(show_board, show_board_dtb);
    if (*diff_cmd)
        return piemu::trace::trace_diff_main(diff_cmd->remaining());
    if (*plot_cmd)
        return piemu::trace::trace_plot_main(plot_cmd->remaining(), std::cout, std::cerr);
    return piemu::kExitBadInput;
}
