#include "piemu/machine.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "board/board_builder.hpp"
#include "board/builtin_dtbs.hpp"
#include "board/fdt_view.hpp"
#include "devices/bcm2835_armctrl.hpp"
#include "devices/bcm2835_aux.hpp"
#include "devices/bcm2835_mbox.hpp"
#include "devices/bcm2835_pm_wdt.hpp"
#include "devices/bcm2835_sdhci.hpp"
#include "devices/bcm2835_sdhost.hpp"
#include "devices/bcm2836_local_intc.hpp"
#include "devices/pl011.hpp"
#include "devices/sd_card.hpp"
#include "kernel/kernel_model.hpp"
#include "kernel/vector_page.hpp"
#include "loader/internals.hpp"
#include "loader/linux_boot.hpp"
#include "machine/boot_stub.hpp"
#include "machine/semihosting.hpp"
#include "piemu/exit_status.hpp"
#include "piemu/guest_abi.h"
#include "piemu/trace.hpp"
#include "trace/irq_tracer.hpp"
#include "trace/vcd.hpp"

namespace piemu {

namespace {
// Synchronous exceptions raised, again and again, by the first instruction of the
// handler they enter: no vector can take them, so stop instead of spinning.
constexpr unsigned kMaxExceptionLoop = 8;
// A core idle in WFI for this long with no interrupt at all is declared hung (a
// guest waiting for the system timer waits at most 2^32 us, 71.6 minutes).
constexpr uint64_t kIdleHorizonSeconds = 24 * 3600;
} // namespace

Machine::Machine(const BoardInfo& board, const MachineOptions& options)
    : board_(board), options_(options), clock_(board.cpu_hz),
      // The peripheral window lies inside the installed RAM: the ARM sees RAM only
      // below it (the top of the 1 GiB belongs to the VideoCore on real boards).
      bus_(std::min(board.ram_size, board.peri_base)) {}

/// The kernel model's sched and softirq trace points as ftrace events.
class Machine::KernelTracer final : public kernel::KernelTraceHooks {
public:
    explicit KernelTracer(Machine& m) : m_(m) {}
    void sched_switch(bool preempt, const kernel::task_struct& prev,
                      const kernel::task_struct& next) override {
        // __schedule(): preemption off (schedule(), or preempt_schedule_irq()'s
        // PREEMPT_DISABLE_OFFSET, or the idle loop's own) and the runqueue lock: the
        // event shows depth 2 ("d..2") whatever the task's count was.
        unsigned cpu = m_.kernel_->irq().smp_processor_id();
        unsigned held = 2 - std::min(2u, m_.kernel_->preempt().get(cpu) & 0xff);
        record(held,
               trace::ev::sched_switch{.prev_comm = comm(prev),
                                       .prev_pid = prev.pid,
                                       .prev_prio = prev.prio,
                                       .prev_state = trace::sched_switch_state(preempt, prev.state),
                                       .next_comm = comm(next),
                                       .next_pid = next.pid,
                                       .next_prio = next.prio});
    }
    void sched_wakeup(const kernel::task_struct& t, unsigned target_cpu) override {
        // try_to_wake_up(): p->pi_lock and the runqueue lock.
        record(2, trace::ev::sched_wakeup{.comm = comm(t),
                                          .pid = t.pid,
                                          .prio = t.prio,
                                          .target_cpu = int32_t(target_cpu)});
    }
    void sched_process_fork(const kernel::task_struct& parent,
                            const kernel::task_struct& child) override {
        record(0, trace::ev::sched_process_fork{.parent_comm = comm(parent),
                                                .parent_pid = parent.pid,
                                                .child_comm = comm(child),
                                                .child_pid = child.pid});
    }
    void sched_process_exit(const kernel::task_struct& t) override {
        record(0, trace::ev::sched_process_exit{.comm = comm(t), .pid = t.pid, .prio = t.prio});
    }
    void softirq_raise(unsigned vec) override { record(0, trace::ev::softirq_raise{.vec = vec}); }
    void softirq_entry(unsigned vec) override { record(0, trace::ev::softirq_entry{.vec = vec}); }
    void softirq_exit(unsigned vec) override { record(0, trace::ev::softirq_exit{.vec = vec}); }
    void ipi_raise(uint32_t target_cpus, unsigned reason) override {
        // smp_send_reschedule() comes from resched_curr(), under p->pi_lock and the
        // runqueue lock as the wake-up it follows; function calls hold none.
        unsigned held = reason == kernel::IPI_RESCHEDULE ? 2 : 0;
        record(held, trace::ev::ipi_raise{.target_cpus = target_cpus, .reason = reason});
    }
    void ipi_entry(unsigned reason) override { record(0, trace::ev::ipi_entry{.reason = reason}); }
    void ipi_exit(unsigned reason) override { record(0, trace::ev::ipi_exit{.reason = reason}); }

private:
    trace::StrId comm(const kernel::task_struct& t) { return m_.recorder_->intern_comm(t.comm); }
    template <typename E>
    void record(unsigned locks_held, const E& e) {
        m_.recorder_->record(m_.trace_context(m_.kernel_->irq().smp_processor_id(), locks_held), e);
    }
    Machine& m_;
};

/// piemu:mmio: every device register access, with the device's DT node name.
class Machine::MmioTracer final : public MmioObserver {
public:
    explicit MmioTracer(Machine& m) : m_(m) {}
    void mmio(const Device& device, uint32_t offset, unsigned size, uint32_t value,
              bool write) override {
        auto [it, fresh] = names_.try_emplace(&device, 0);
        if (fresh)
            it->second = m_.recorder_->intern(device.name());
        unsigned cpu = m_.kernel_ ? m_.kernel_->irq().smp_processor_id() : m_.current_cpu_;
        m_.recorder_->record(m_.trace_context(cpu), trace::ev::mmio{.device = it->second,
                                                                    .offset = offset,
                                                                    .size = size,
                                                                    .value = value,
                                                                    .write = write});
    }

private:
    Machine& m_;
    std::map<const Device*, trace::StrId> names_; // looked up only: order never shows
};

Machine::~Machine() {
    bus_.set_mmio_observer(nullptr);
    flush_outputs();
    kernel_.reset();
    if (dmesg_)
        std::fclose(dmesg_);
    if (uart_in_fd_ >= 0)
        ::close(uart_in_fd_);
    if (uart_out_owned_ && uart_out_)
        std::fclose(uart_out_);
    if (uart1_in_fd_ >= 0)
        ::close(uart1_in_fd_);
    if (uart1_out_owned_ && uart1_out_)
        std::fclose(uart1_out_);
}

ErrorOr<std::unique_ptr<Machine>> Machine::create(const MachineOptions& options) {
    const BoardInfo* board = find_board(options.board);
    if (!board)
        return Error{fmt::format("--board {}: unknown board (try `piemu boards`)", options.board)};
    std::unique_ptr<Machine> m(new Machine(*board, options));
    TRY(m->init());
    return m;
}

ErrorOr<void> Machine::init() {
    bus_.set_strict_mmio(options_.strict_mmio);

    TRY(open_uart_output("--uart", options_.uart, uart_out_, uart_out_owned_));
    semihosting_ = std::make_unique<Semihosting>(clock_, stdout);

    if (options_.smp_start != "parked" && options_.smp_start != "all")
        return Error{fmt::format("--smp-start {}: expected parked or all", options_.smp_start)};
    if (options_.quantum == 0)
        return Error{"--quantum 0: a round needs at least one instruction per core"};
    if (options_.smp_start == "all" && options_.kernel_model)
        return Error{"--smp-start all: the kernel model starts its secondaries itself "
                     "(through their boot mailbox)"};
    if (options_.maxcpus && !options_.kernel_model)
        return Error{fmt::format("--maxcpus {}: only the kernel model brings CPUs up (a bare "
                                 "image starts its secondaries itself)",
                                 options_.maxcpus)};
    if (options_.maxcpus > board_.cores)
        return Error{fmt::format("--maxcpus {}: board {} has {} cores", options_.maxcpus,
                                 board_.name, board_.cores)};
    // The board's cores (one Unicorn engine each, over the same RAM). Their generic
    // timers and interrupt pins are wired by the board's device tree.
    CoreLines lines;
    for (unsigned i = 0; i < board_.cores; ++i) {
        auto core = std::make_unique<ArmCore>(i, clock_, bus_, board_.cntfrq);
        lines.timers.push_back(core->timer().outputs());
        pmu_lines_.push_back(std::make_unique<IrqLine>());
        lines.pmu.push_back(pmu_lines_.back().get());
        lines.cpu_inputs.push_back(core.get());
        cores_.push_back(std::move(core));
    }
    runs_.resize(cores_.size());

    std::span<const uint8_t> dtb = builtin_dtb(board_.name);
    std::string dtb_name = fmt::format("board {}", board_.name);
    if (!options_.board_dtb.empty()) {
        // As every input file: a device or a huge file is refused before it is read.
        auto data = loader::read_file(options_.board_dtb);
        if (data.is_error())
            return Error{data.error().message + (data.error().message.ends_with(": empty file")
                                                     ? ", not a device tree blob"
                                                     : "")};
        board_dtb_ = data.release_value();
        dtb = board_dtb_;
        dtb_name = options_.board_dtb;
    }
    if (dtb.empty())
        return Error{fmt::format("{}: no device tree", dtb_name)};
    auto built = build_board(dtb, bus_, clock_, unsigned(cores_.size()), lines);
    if (built.is_error())
        return Error{fmt::format("{}: {}", dtb_name, built.error().message)};
    built_ = std::make_unique<BuiltBoard>(built.release_value());

    // The console: the UART that /chosen stdout-path names.
    uart0_ = dynamic_cast<Pl011*>(built_->stdout_device());
    if (!uart0_)
        return Error{fmt::format("{}: /chosen stdout-path names no PL011", dtb_name)};
    uart0_->set_tx_sink([this](uint8_t c) {
        uart0_sent(c);
        if (uart_out_)
            out_putc(uart_out_, c);
    });
    setup_firmware_state();
    // The secondaries' boot mailboxes (the firmware's spin loop, smp.cpp).
    local_intc_ = built_->find_model<Bcm2836LocalIntc>();
    if (local_intc_)
        local_intc_->set_mailbox_observer(
            [this](unsigned core, unsigned mailbox) { mailbox_written(core, mailbox); });
    reset_core_runs();
    TRY(connect_uart_input());
    TRY(connect_uart1());

    // The SD card: an image file in the slot of the host --sd-host names, the SDHOST
    // (brcm,bcm2835-sdhost) or the EMMC (brcm,bcm2835-sdhci). The other slot is empty.
    if (options_.sd_host != "sdhost" && options_.sd_host != "sdhci")
        return Error{fmt::format("--sd-host {}: expected sdhost or sdhci", options_.sd_host)};
    if (!options_.sd_image.empty()) {
        Device* dev = built_->device_by_compatible(
            options_.sd_host == "sdhci" ? "brcm,bcm2835-sdhci" : "brcm,bcm2835-sdhost");
        auto* sdhost = dynamic_cast<Bcm2835Sdhost*>(dev);
        auto* sdhci = dynamic_cast<Bcm2835Sdhci*>(dev);
        if (!sdhost && !sdhci)
            return Error{
                fmt::format("--sd: board {} has no {} host", board_.name, options_.sd_host)};
        sd_card_ = TRY(SdCard::open(options_.sd_image, options_.sd_readonly));
        if (sdhost)
            sdhost->attach(sd_card_.get());
        else
            sdhci->attach(sd_card_.get());
    }

    if (auto* wdt =
            dynamic_cast<Bcm2835PmWdt*>(built_->device_by_compatible("brcm,bcm2835-pm-wdt"))) {
        wdt->set_reset_handler([this](ResetKind kind) {
            pending_exit_ =
                kind == ResetKind::PowerOff
                    ? RunOutcome{RunOutcome::Kind::PowerOff, kExitOk, "guest powered off"}
                    : RunOutcome{RunOutcome::Kind::Reset, kExitOk,
                                 "guest reset the board (watchdog)"};
        });
    }

    if (options_.kernel_model) {
        // The kernel model's vector page, read-only for the guest, mapped before the
        // cores map the bus.
        uint8_t* page =
            TRY(bus_.add_ram_region("vectors", PIEMU_KM_VECTORS, PIEMU_KM_VECTORS_SIZE, true));
        auto image = vector_page_image();
        std::copy(image.begin(), image.end(), page);
    }
    for (auto& c : cores_) {
        TRY(c->init());
        reset_core_state(*c);
    }
    if (options_.kernel_model) {
        TRY(boot_kernel_model());
        // Gates run inside the core's run, without stopping it (docs/performance.md).
        auto [begin, end] = kernel_->gate_range();
        for (auto& c : cores_)
            c->set_code_trap(begin, end, [this](ArmCore& core, uint32_t pc) {
                return kernel_gate_in_run(core, pc);
            });
    }
    TRY(setup_trace());
    TRY(setup_line_observers());
    return {};
}

ErrorOr<void> Machine::setup_trace() {
    if (options_.trace_file.empty())
        return {};
    std::string list = options_.trace_events;
    if (options_.trace_functions)
        list += list.empty() ? "irq,sched,ipi,piemu,ftrace:function" : ",ftrace:function";
    trace::RecorderConfig cfg;
    cfg.nr_cpus = board_.cores;
    if (options_.trace_buffer)
        cfg.buffer_size = options_.trace_buffer;
    if (!list.empty()) {
        auto filter = trace::EventFilter::parse(list);
        if (filter.is_error())
            return Error{fmt::format("--events {}: {}", list, filter.error().message)};
        cfg.events = filter.release_value();
    }
    // Fail now, not at the end of a long run, if the file cannot be written ("-" is
    // standard output, written at the end like the file).
    if (options_.trace_file != "-") {
        std::ofstream probe(options_.trace_file, std::ios::trunc);
        if (!probe)
            return Error{fmt::format("{}: cannot open for writing: {}", options_.trace_file,
                                     std::strerror(errno))};
    }
    recorder_ = std::make_unique<trace::Recorder>(std::move(cfg));
    trace_idle_comm_ = recorder_->intern_comm("swapper/0");
    trace_comm_task_.assign(cores_.size(), nullptr);
    trace_comm_.assign(cores_.size(), 0);
    if (kernel_) {
        irq_tracer_ = std::make_unique<trace::IrqTracer>(
            *recorder_, [this] { return trace_context(kernel_->irq().smp_processor_id()); },
            options_.trace_irqs);
        kernel_->irq().set_trace_hooks(irq_tracer_.get());
        kernel_tracer_ = std::make_unique<KernelTracer>(*this);
        kernel_->set_trace_hooks(kernel_tracer_.get());
    }
    if (recorder_->enabled(trace::EventId::exception_return)) {
        for (auto& c : cores_) {
            ArmCore* core = c.get();
            core->watch_exception_returns([this, core](uint32_t pc, uint32_t cpsr) {
                recorder_->record(trace_context(core->index()),
                                  trace::ev::exception_return{.pc = pc, .cpsr = cpsr});
            });
        }
    }
    if (recorder_->enabled(trace::EventId::mmio)) {
        mmio_tracer_ = std::make_unique<MmioTracer>(*this);
        bus_.set_mmio_observer(mmio_tracer_.get());
    }
    if (recorder_->enabled(trace::EventId::uart_tx)) {
        trace::StrId dev = recorder_->intern(uart0_->name());
        uart0_->set_tx_sink([this, dev](uint8_t c) {
            uart0_sent(c);
            if (uart_out_)
                out_putc(uart_out_, c);
            recorder_->record(trace_context(current_cpu_),
                              trace::ev::uart_tx{.device = dev, .ch = c});
        });
        if (uart1_) {
            trace::StrId dev1 = recorder_->intern(uart1_->name());
            uart1_->set_tx_sink([this, dev1](uint8_t c) {
                if (uart1_out_)
                    out_putc(uart1_out_, c);
                recorder_->record(trace_context(current_cpu_),
                                  trace::ev::uart_tx{.device = dev1, .ch = c});
            });
        }
    }
    return {};
}

// The delivery counts at the controllers (piemu interrupts without the kernel model):
// every interrupt controller of the board, its rows named by the devices wired to it.
void Machine::setup_delivery_counts() {
    deliveries_ = std::make_unique<DeliveryCounts>(unsigned(cores_.size()));
    // With the kernel model, genirq counts (/proc/interrupts): the controllers report
    // to nobody, which costs them nothing.
    if (kernel_)
        return;
    auto controller_of = [](const BuiltDevice& d) -> InterruptController* {
        if (d.instance.controller)
            return d.instance.controller;
        return dynamic_cast<InterruptController*>(d.instance.device.get());
    };
    for (auto& d : built_->devices) {
        InterruptController* ic = controller_of(d);
        if (!ic)
            continue;
        std::string name = d.path.substr(d.path.rfind('/') + 1);
        std::function<unsigned(bool)> route;
        if (dynamic_cast<Bcm2835Armctrl*>(ic)) {
            name = "armctrl";
            // ARMCTRL's outputs are the local controller's GPU IRQ and FIQ inputs.
            if (local_intc_)
                route = [this](bool fiq) { return local_intc_->gpu_core(fiq); };
        } else if (ic == local_intc_) {
            name = "local_intc";
        }
        deliveries_->add_controller(*ic, name, std::move(route));
    }
    // The sources: each device's DT interrupts, and the cores' own lines.
    auto add = [&](const std::string& path, const std::vector<DtInterrupt>& irqs) {
        std::string node = path.substr(path.rfind('/') + 1);
        for (size_t i = 0; i < irqs.size(); ++i) {
            for (auto& c : built_->devices) {
                InterruptController* ic = controller_of(c);
                if (!ic || c.compatible.empty() || c.compatible != irqs[i].controller)
                    continue;
                if (auto hwirq = ic->hwirq(irqs[i].cells))
                    deliveries_->add_source(
                        *ic, *hwirq, irqs.size() == 1 ? node : fmt::format("{} irq{}", node, i));
                break;
            }
        }
    };
    for (auto& d : built_->devices) {
        add(d.path, d.interrupts);
        for (auto& p : d.parts)
            add(p.path, p.interrupts);
    }
    if (!local_intc_)
        return;
    static const char* const kTimerLines[] = {"cntps", "cntpns", "cnthp", "cntv"};
    for (auto& c : cores_) {
        auto lines = c->timer().outputs();
        for (size_t i = 0; i < lines.size(); ++i)
            if (lines[i]->connected())
                deliveries_->add_source(*local_intc_, unsigned(i), kTimerLines[i]);
    }
    for (auto& pmu : pmu_lines_)
        if (pmu->connected())
            deliveries_->add_source(*local_intc_, Bcm2836LocalIntc::kSrcPmu, "pmu");
    for (unsigned m = 0; m < 4; ++m)
        deliveries_->add_source(*local_intc_, Bcm2836LocalIntc::kSrcMailbox0 + m,
                                fmt::format("mailbox{}", m));
}

ErrorOr<void> Machine::setup_line_observers() {
    setup_delivery_counts();
    line_tracer_.m = this;
    line_tracer_.record = recorder_ && recorder_->enabled(trace::EventId::irq_line);
    if (!options_.vcd_file.empty()) {
        vcd_ = std::make_unique<trace::VcdWriter>();
        TRY(vcd_->open(options_.vcd_file, "--vcd"));
    }
    if (!line_tracer_.record && !vcd_)
        return {};
    // Each device's outputs in DT order, the controllers' outputs to their parent
    // and to the cores, and each core's generic timer lines.
    for (auto& d : built_->devices) {
        const std::string& dev = d.instance.device->name();
        std::vector<IrqLine*> outs =
            d.instance.outputs.empty() ? d.instance.device->irq_outputs() : d.instance.outputs;
        for (size_t i = 0; i < outs.size(); ++i)
            observe_line(outs[i], dev, outs.size() == 1 ? "irq" : fmt::format("irq{}", i));
        observe_line(d.instance.fiq_output, dev, "fiq");
        for (size_t c = 0; c < d.instance.cpu_outputs.size(); ++c) {
            observe_line(d.instance.cpu_outputs[c][0], dev, fmt::format("cpu{}.irq", c), int(c));
            observe_line(d.instance.cpu_outputs[c][1], dev, fmt::format("cpu{}.fiq", c), int(c));
        }
    }
    static const char* const kTimerLines[] = {"cntps", "cntpns", "cnthp", "cntv"};
    for (auto& c : cores_) {
        auto lines = c->timer().outputs();
        for (size_t i = 0; i < lines.size(); ++i)
            observe_line(lines[i], fmt::format("cpu{}.timer", c->index()), kTimerLines[i],
                         int(c->index()));
    }
    if (vcd_)
        vcd_->begin();
    return {};
}

void Machine::observe_line(IrqLine* line, const std::string& device, const std::string& name,
                           int cpu) {
    if (!line)
        return;
    line->observe(&line_tracer_, uint32_t(line_tracer_.names.size()));
    line_tracer_.cpus.push_back(cpu);
    line_tracer_.names.emplace_back(recorder_ ? recorder_->intern(device) : 0,
                                    recorder_ ? recorder_->intern(name) : 0);
    line_tracer_.wires.push_back(vcd_ ? vcd_->add_wire(device, name, line->level()) : 0);
}

void Machine::LineTracer::irq_line_changed(uint32_t tag, bool level) {
    if (m->vcd_)
        m->vcd_->change(wires.at(tag), m->clock_.now_ns(), level);
    if (!record)
        return;
    auto [device, line] = names.at(tag);
    // A core's own lines on that core's CPU; the others on the core that runs (CPU 0
    // between rounds, when timer events fire).
    int cpu = cpus.at(tag);
    m->recorder_->record(m->trace_context(cpu >= 0 ? unsigned(cpu) : m->current_cpu_),
                         trace::ev::irq_line{.device = device, .line = line, .level = level});
}

trace::Context Machine::trace_context(unsigned cpu, unsigned locks_held) {
    ArmCore& c = *cores_.at(cpu);
    trace::CpuState st;
    st.irqs_off = c.cpsr() & psr::I;
    // Bare guests, and the cores the kernel model has not brought up: everything runs
    // "in the idle task" (pid 0).
    if (!kernel_ || !kernel_->cpu_online(cpu))
        return trace::make_context(clock_.now_ns(), cpu, 0, trace_idle_comm_, st);
    st.preempt_count = kernel_->preempt().get(cpu);
    const kernel::task_struct* t = kernel_->current(cpu);
    st.need_resched = kernel_->need_resched(cpu);
    if (locks_held) {
        // Inside the scheduler's spinlocks (taken with IRQs off), as the kernel's
        // sched events see them: each lock is one preempt_disable().
        st.irqs_off = true;
        st.preempt_count += locks_held;
    }
    if (t != trace_comm_task_[cpu]) {
        trace_comm_task_[cpu] = t;
        trace_comm_[cpu] = recorder_->intern_comm(t->comm);
    }
    return trace::make_context(clock_.now_ns(), cpu, t->pid, trace_comm_[cpu], st);
}

void Machine::trace_exception(ArmCore& c, ExceptionType type, uint32_t preferred_return) {
    if (!recorder_ || !recorder_->enabled(trace::EventId::exception_entry))
        return;
    static constexpr uint32_t kVector[] = {0, 1, 2, 3, 4, 6, 7}; // offset / 4
    recorder_->record(trace_context(c.index()),
                      trace::ev::exception_entry{.vector = kVector[int(type)],
                                                 .pc = preferred_return,
                                                 .lr = c.reg(14),
                                                 .cpsr = c.spsr()});
}

void Machine::write_trace() {
    if (!recorder_)
        return;
    if (options_.trace_file == "-") {
        // Standard output cannot be rewritten: the trace goes out once, when the run
        // first stops (a gdb session's later stops add nothing).
        if (trace_written_)
            return;
        trace_written_ = true;
        errno = 0;
        std::fflush(stdout); // after the console output written through stdio
        recorder_->write(std::cout);
        std::cout.flush();
        if (!std::cout && !stdout_error_)
            stdout_error_ = errno ? errno : EIO;
        return;
    }
    errno = 0;
    std::ofstream out(options_.trace_file, std::ios::trunc);
    recorder_->write(out);
    out.close();
    if (!out && !trace_error_)
        trace_error_ = errno ? errno : EIO;
}

int& Machine::out_error(FILE* f) {
    if (f == stdout) // --uart stdio, --uart1 stdio
        return stdout_error_;
    if (f == uart_out_) // also --uart1 naming the same file
        return uart_out_error_;
    if (f == uart1_out_)
        return uart1_out_error_;
    if (f == dmesg_)
        return dmesg_error_;
    return other_error_;
}

void Machine::out_write(FILE* f, const void* data, size_t n) {
    if (std::fwrite(data, 1, n, f) != n && !out_error(f))
        out_error(f) = errno ? errno : EIO;
}

void Machine::out_putc(FILE* f, int c) {
    if (std::fputc(c, f) == EOF && !out_error(f))
        out_error(f) = errno ? errno : EIO;
}

std::vector<std::string> Machine::output_errors() const {
    std::vector<std::string> out;
    auto add = [&](int err, const std::string& what) {
        if (err)
            out.push_back(fmt::format("{}: write failed: {}", what, std::strerror(err)));
    };
    // A UART on stdio reports as stdout (out_error()).
    add(uart_out_error_, "--uart " + options_.uart);
    add(uart1_out_ != uart_out_ ? uart1_out_error_ : 0, "--uart1 " + options_.uart1);
    add(dmesg_error_, "--dmesg " + options_.dmesg);
    add(trace_error_, "--trace " + options_.trace_file);
    add(vcd_ ? vcd_->write_error() : 0, "--vcd " + options_.vcd_file);
    // Semihosting's console is stdout too; its exit flushes first, with the errno.
    int stdout_error = semihosting_ ? semihosting_->console_error() : 0;
    add(stdout_error ? stdout_error : stdout_error_, "stdout");
    return out;
}

ErrorOr<void> Machine::boot_kernel_model() {
    kernel::KernelModelConfig cfg;
    cfg.bus = &bus_;
    cfg.clock = &clock_;
    // Every core; smp_init() starts maxcpus of them through their boot mailbox.
    for (auto& c : cores_)
        cfg.cores.push_back(c.get());
    cfg.nr_cpus = board_.cores;
    cfg.maxcpus = options_.maxcpus;
    // The controllers and the console where the board's device tree put them.
    for (auto& d : built_->devices) {
        if (d.compatible == "brcm,bcm2836-l1-intc")
            cfg.local_intc_base = d.base;
        else if (d.compatible == "brcm,bcm2836-armctrl-ic")
            cfg.armctrl_base = d.base;
    }
    cfg.uart_base = bus_.find_device_of(*uart0_);
    // The platform devices the built-in drivers bind to: every modelled node, and the
    // nodes that are parts of another node's model.
    std::span<const uint8_t> dtb =
        board_dtb_.empty() ? builtin_dtb(board_.name) : std::span<const uint8_t>(board_dtb_);
    auto platform_device = [&](const std::string& path, const std::vector<std::string>& compatible,
                               uint32_t base, uint32_t size,
                               const std::vector<DtInterrupt>& interrupts) {
        kernel::PlatformDevice pd;
        // of_device_make_bus_id(): "<address>.<node name without the unit address>".
        std::string node = path.substr(path.rfind('/') + 1);
        pd.name = fmt::format("{:x}.{}", base, node.substr(0, node.find('@')));
        pd.compatible = compatible;
        pd.base = base;
        pd.size = size;
        pd.regs = {base};
        for (auto& i : interrupts)
            pd.irqs.push_back({i.controller, i.cells});
        Fdt f{dtb.data()};
        pd.dma_channel_mask =
            f.u32(fdt_path_offset(f.blob, path.c_str()), "brcm,dma-channel-mask").value_or(0);
        cfg.devices.push_back(std::move(pd));
    };
    for (auto& d : built_->devices) {
        // of_platform_populate() makes no platform device of a disabled node, and a
        // disabled node's parts go with it.
        if (d.disabled)
            continue;
        platform_device(d.path, d.node_compatible, d.base, d.size, d.interrupts);
        // Further reg windows served by their own models (the usb node's MPHI block).
        for (auto& w : d.instance.windows) {
            std::vector<uint32_t>& regs = cfg.devices.back().regs;
            regs.resize(std::max<size_t>(regs.size(), w.reg_index + 1), 0);
            regs[w.reg_index] = w.base;
        }
        for (auto& p : d.parts)
            if (!p.disabled)
                platform_device(p.path, p.compatible, p.base, p.size, p.interrupts);
    }
    cfg.panic_on_bug = options_.panic_on_bug;
    cfg.threadirqs = options_.threadirqs;
    kernel_ = std::make_unique<kernel::KernelModel>(cfg);
    if (!options_.dmesg.empty()) {
        dmesg_ = std::fopen(options_.dmesg.c_str(), "w");
        if (!dmesg_)
            return Error{fmt::format("{}: cannot open for writing: {}", options_.dmesg,
                                     std::strerror(errno))};
        std::setvbuf(dmesg_, nullptr, _IOLBF, BUFSIZ); // as the UART logs: whole lines at once
    }
    // Only with somewhere to write it: the sink gets each record formatted as console
    // text, which for a guest that warns in a loop is much of its run (the syscall
    // fuzzer's inputs, run with no output: 10 % of their CPU time).
    if (dmesg_ || uart_out_ || options_.kernel_warnings_to_stderr)
        kernel_->log().add_sink([this](const kernel::LogRecord& rec, std::string_view text) {
            if (dmesg_)
                out_write(dmesg_, text.data(), text.size());
            if (console_ && uart_out_) // console=ttyAMA0: the log on the UART output
                out_write(uart_out_, text.data(), text.size());
            else if (options_.kernel_warnings_to_stderr && rec.level <= int(kernel::KERN_WARNING))
                std::fwrite(text.data(), 1, text.size(), stderr); // warnings mirrored to stderr
        });
    kernel_->boot();
    return {};
}

void Machine::start_idle() {
    // The kernel model with no guest: CPU 0 runs the idle task (do_idle: wfi).
    kernel_->start_idle();
}

void Machine::deliver_interrupts(ArmCore& c) {
    // Bare guests and the kernel model alike take IRQs through the vector table; the
    // kernel model's is its vector page at 0xffff0000 (SCTLR.V).
    uint32_t pc = c.pc();
    if (auto taken = c.deliver_interrupts())
        exception_taken(c, *taken, pc);
}

void Machine::exception_taken(ArmCore& c, ExceptionType type, uint32_t preferred_return) {
    trace_exception(c, type, preferred_return);
    ++exceptions_taken_;
    ++exception_counts_.at(size_t(type));
    if (debug_observer_)
        debug_observer_->exception_taken(c, type, preferred_return);
    if (exception_breaks_ & (1u << int(type)))
        exception_break_ = type;
}

ErrorOr<void> Machine::open_uart_output(const std::string& option, const std::string& spec,
                                        FILE*& out, bool& owned) {
    if (spec == "none")
        return {};
    if (spec == "stdio" || spec == "-") { // "-": standard output, as for --trace
        out = stdout;
        return {};
    }
    if (spec.empty())
        return Error{fmt::format("{} '': expected stdio, none or a file name", option)};
    // --uart1 naming --uart's file shares it: both UARTs' bytes in the order sent.
    if (&out == &uart1_out_ && spec == options_.uart && uart_out_) {
        out = uart_out_;
        return {};
    }
    out = std::fopen(spec.c_str(), "wb");
    if (!out)
        return Error{
            fmt::format("{} {}: cannot open for writing: {}", option, spec, std::strerror(errno))};
    // Line-buffered: every line the guest completed is in the file at once, so even a
    // run killed outright (SIGKILL, a host crash) leaves the log up to its last line.
    std::setvbuf(out, nullptr, _IOLBF, BUFSIZ);
    owned = true;
    return {};
}

ErrorOr<std::unique_ptr<UartInput>> Machine::open_uart_input(const std::string& option,
                                                             const std::string& spec, int& fd_out) {
    if (spec == "none")
        return std::unique_ptr<UartInput>();
    if (spec.empty())
        return Error{fmt::format("{} '': expected none, stdin or a file name", option)};
    int fd = 0;
    if (spec != "stdin") {
        fd = ::open(spec.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return Error{fmt::format("{} {}: cannot open for reading: {}", option, spec,
                                     std::strerror(errno))};
        fd_out = fd;
    }
    // Files and pipes are read when the UART asks, one character time apart, so the
    // guest sees the same bytes at the same virtual times on every run. A terminal is
    // polled (line by line, as the terminal delivers it): nondeterministic by nature.
    return std::unique_ptr<UartInput>(UartFdInput::for_fd(fd));
}

ErrorOr<void> Machine::connect_uart_input() {
    if (auto input = TRY(open_uart_input("--uart-input", options_.uart_input, uart_in_fd_)))
        uart0_->set_input(std::move(input));
    return {};
}

ErrorOr<void> Machine::connect_uart1() {
    // The mini UART is the device the DT alias serial1 names (mainline's uart1 node).
    uart1_ = dynamic_cast<Bcm2835Aux*>(built_->device_for_alias("serial1"));
    bool wanted = options_.uart1 != "none" || options_.uart1_input != "none";
    if (!uart1_) {
        if (wanted)
            return Error{
                fmt::format("--uart1: board {} has no mini UART (DT alias serial1)", board_.name)};
        return {};
    }
    if (options_.uart1_input == "stdin" && options_.uart_input == "stdin")
        return Error{"--uart1-input stdin: stdin already feeds the PL011 (--uart-input stdin)"};
    TRY(open_uart_output("--uart1", options_.uart1, uart1_out_, uart1_out_owned_));
    uart1_->set_tx_sink([this](uint8_t c) {
        if (uart1_out_)
            out_putc(uart1_out_, c);
    });
    if (auto input = TRY(open_uart_input("--uart1-input", options_.uart1_input, uart1_in_fd_)))
        uart1_->set_input(std::move(input));
    return {};
}

void Machine::setup_firmware_state() {
    // The Pi firmware (with enable_uart=1) leaves UART0 running at 115200 8N1 with
    // FIFOs on: 48 MHz / (16 * 115200) = 26.04 -> IBRD 26, FBRD 3. Bare images that
    // never touch the UART rely on that, as they do on hardware.
    uart0_->write(0x024, 26, 4);    // IBRD
    uart0_->write(0x028, 3, 4);     // FBRD
    uart0_->write(0x02c, 0x70, 4);  // LCR_H: WLEN 8 bits, FEN
    uart0_->write(0x030, 0x301, 4); // CR: UARTEN, TXE, RXE
}

ErrorOr<void> Machine::reboot() {
    built_->reset();
    reset_core_runs();
    setup_firmware_state();
    for (auto& c : cores_) {
        c->timer().reset();
        c->set_cp15(1, 0, 0, 0, 0x00c50078); // SCTLR reset value (Cortex-A7 TRM)
        c->set_cp15(12, 0, 0, 0, 0);         // VBAR
        c->set_cpsr(0x400001d3);             // SVC, A/I/F masked
        for (unsigned r = 0; r < 15; ++r)
            c->set_reg(r, 0);
        reset_core_state(*c);
    }
    if (linux_)
        TRY(load_linux(*linux_));
    else
        TRY(load(image_.path, load_addr_));
    return {};
}

void Machine::reset_core_state(ArmCore& core) {
    // MPIDR as the board reports it. A Non-secure PL1 read of MPIDR returns VMPIDR
    // when EL2 exists (ARM ARM B4.1.106), which is how Unicorn's core runs.
    core.set_cp15(0, 4, 0, 5, board_.mpidr_base | core.index()); // VMPIDR
    // NSACR: Non-secure code may use cp10/cp11 (VFP, Advanced SIMD) and see its CPACR
    // fields, as the Pi firmware's stub allows before dropping to Non-secure.
    core.set_cp15(1, 0, 1, 2, 0x00000c00);
    // What the Pi firmware leaves behind for the kernel: CNTFRQ programmed.
    // (Unicorn's own reset state is SVC mode with A/I/F masked, MMU off.)
    core.set_cp15(14, 0, 0, 0, board_.cntfrq);
}

ErrorOr<void> Machine::load(const std::string& path, std::optional<uint32_t> load_addr) {
    image_ = TRY(load_image(path, load_addr, bus_));
    if (!extra_symbols_.empty())
        image_.add_symbols(extra_symbols_);
    load_addr_ = load_addr;
    if (kernel_) {
        // A tiny guest runs as the kernel model's init task; its memory must stay
        // clear of the kernel model's own (stacks, task_structs).
        for (auto [base, size] : image_.segments)
            if (base < PIEMU_KM_RAM + PIEMU_KM_RAM_SIZE && PIEMU_KM_RAM < uint64_t(base) + size)
                return Error{fmt::format("{}: segment at 0x{:08x} overlaps the kernel model's "
                                         "memory [0x{:08x}, 0x{:08x})",
                                         path, base, PIEMU_KM_RAM,
                                         PIEMU_KM_RAM + PIEMU_KM_RAM_SIZE)};
        kernel_->start_init(image_.entry, image_.entry_thumb, &image_);
        // With a guest to run, the kernel log is the console, as with
        // console=ttyAMA0: what was logged so far, then every record as it comes.
        console_ = true;
        if (uart_out_) {
            std::string boot_log = kernel_->log().dmesg();
            out_write(uart_out_, boot_log.data(), boot_log.size());
        }
        return {};
    }
    // A raw kernel7.img starts the way the Pi firmware starts it: through the stub,
    // with r1 = the BCM2709 machine type the firmware passes (0xc42). ELF images are
    // entered directly, as QEMU's -kernel does; so is a raw image placed over the
    // stub's own page.
    if (!image_.is_elf && image_.entry >= kBootStubSize) {
        image_.use_boot_stub = true;
        image_.boot_r0 = 0;
        image_.boot_r1 = 0xc42;
        image_.boot_r2 = 0;
    }
    start_image();
    return {};
}

void Machine::start_image() {
    // With --smp-start all every core starts where core 0 does (QEMU's -kernel); the
    // parked ones wait for their mailbox (smp.cpp).
    for (auto& core : cores_) {
        if (core->index() != 0 && core_parked(core->index()))
            continue;
        if (!image_.use_boot_stub)
            core->set_pc(image_.entry, image_.entry_thumb);
        else
            core->set_pc(0, false);
    }
    if (!image_.use_boot_stub)
        return;
    std::span<const uint8_t> stub = boot_stub_image();
    bus_.write_phys(0, stub);
    uint32_t params[4] = {image_.entry | (image_.entry_thumb ? 1u : 0u), image_.boot_r0,
                          image_.boot_r1, image_.boot_r2};
    bus_.write_phys(kBootStubParams, {reinterpret_cast<const uint8_t*>(params), sizeof params});
}

ErrorOr<void> Machine::load_linux(const LinuxBootParams& params) {
    // The Pi firmware rewrites /memory with the ARM's share of the RAM (what its
    // mailbox reports as "ARM memory"): the VideoCore's part below the peripherals
    // must not be System RAM, or the kernel's ioremap() of the peripherals, which
    // the DTBs' /memory (all 1 GiB) would cover, fails.
    std::pair<uint32_t, uint32_t> memory{0, bus_.ram_size()};
    if (auto* mbox = built_->find_model<Bcm2835Mbox>())
        memory = {mbox->board_info().arm_mem_base, mbox->board_info().arm_mem_size};
    image_ = TRY(piemu::load_linux(params, bus_, memory));
    if (!extra_symbols_.empty())
        image_.add_symbols(extra_symbols_);
    linux_ = params;
    start_image();
    return {};
}

void Machine::add_symbols(const std::vector<Symbol>& symbols) {
    extra_symbols_.insert(extra_symbols_.end(), symbols.begin(), symbols.end());
    image_.add_symbols(symbols);
}

uint64_t Machine::instructions() const {
    uint64_t n = 0;
    for (auto& c : cores_)
        n += c->instructions();
    return n;
}

void Machine::flush_outputs() {
    write_trace();
    if (vcd_)
        vcd_->flush();
    auto flush = [](FILE* f, int& err) {
        if (std::fflush(f) == EOF && !err)
            err = errno;
        if (std::ferror(f) && !err)
            err = EIO; // a failure whose errno is gone
    };
    if (uart_out_)
        flush(uart_out_, out_error(uart_out_));
    if (uart1_out_)
        flush(uart1_out_, out_error(uart1_out_));
    if (dmesg_)
        flush(dmesg_, dmesg_error_);
    flush(stdout, stdout_error_);
}

void Machine::set_interrupts_dump(uint64_t every_ns, bool on_signal, std::function<void()> dump) {
    dump_ = std::move(dump);
    dump_on_signal_ = on_signal;
    if (every_ns) {
        uint64_t period = clock_.ticks_to_cycles(every_ns, 1'000'000'000);
        dump_timer_ = std::make_unique<TimerEvent>(clock_, "interrupts-dump", [this, period] {
            dump_();
            dump_timer_->arm_in(period);
        });
        dump_timer_->arm_in(period);
    }
}

void Machine::set_uart_dump(std::string text, std::function<void(std::string_view)> dump) {
    uart_dump_text_ = std::move(text);
    uart_dump_ = std::move(dump);
}

void Machine::uart0_sent(uint8_t c) {
    if (!uart_dump_)
        return;
    if (!uart_dump_marker_.empty()) {
        std::string marker = std::move(uart_dump_marker_);
        uart_dump_marker_.clear();
        uart_dump_(fmt::format("UART0 sends the next character after \"{}\"", marker));
    }
    if (c != '\n') {
        if (uart_line_.size() < 4096)
            uart_line_ += char(c);
        return;
    }
    std::string line = std::move(uart_line_);
    uart_line_.clear();
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    if (line.find(uart_dump_text_) == std::string::npos)
        return;
    uart_dump_(fmt::format("UART0 ends the line \"{}\"", line));
    uart_dump_marker_ = line; // not empty: it holds the (non-empty) text
}

void Machine::request_interrupts_dump() {
    if (dump_on_signal_) {
        dump_requested_ = true;
        clock_.request_attention();
    }
}

void Machine::set_progress(std::function<void()> poll, uint64_t max_slice) {
    progress_ = std::move(poll);
    progress_slice_ = max_slice;
}

void Machine::request_stop() {
    stop_requested_ = true;
    clock_.request_attention();
}

std::optional<RunOutcome> Machine::idle_until_event() {
    ArmCore& c = core();
    // WFI completes when an interrupt is pending at the core, masked or not (ARM ARM
    // B1.8.13). Until then virtual time jumps from timer event to timer event: the
    // events run (device state moves on) without the core executing anything.
    const uint64_t start = clock_.now();
    const uint64_t horizon = start + kIdleHorizonSeconds * clock_.hz();
    while (!c.irq_line() && !c.fiq_line()) {
        if (stop_requested_ || pending_exit_ || (kernel_ && kernel_->stop_pending()))
            return std::nullopt;
        uint64_t next = clock_.next_deadline();
        if (options_.duration_ns) {
            uint64_t end = clock_.ticks_to_cycles(options_.duration_ns, 1'000'000'000);
            if (next >= end) {
                clock_.set_now(std::max(clock_.now(), end));
                return std::nullopt; // the run loop ends the run
            }
        }
        // With a UART input attached, input may still arrive: keep waiting.
        bool input = (uart0_->input_attached() && !uart0_->input_exhausted()) ||
                     (uart1_ && uart1_->input_attached() && !uart1_->input_exhausted());
        if (next == VirtualClock::kNever || (next > horizon && !input))
            return RunOutcome{RunOutcome::Kind::Deadlock, kExitGuestHang,
                              fmt::format("guest waits for an interrupt (at 0x{:08x}) but "
                                          "nothing can raise one",
                                          c.pc())};
        if (next > clock_.now())
            clock_.set_now(next);
        clock_.run_due();
        if (progress_)
            progress_();
    }
    return std::nullopt;
}

std::optional<RunOutcome> Machine::handle_stop(ArmCore& c, const StopInfo& s) {
    if (gate_outcome_) { // a gate run inside the run ended it (kernel_gate_in_run)
        auto outcome = std::move(gate_outcome_);
        gate_outcome_.reset();
        return outcome;
    }
    switch (s.reason) {
    case StopReason::Yield:
    case StopReason::Breakpoint: // debugger stops: the debugger's run loop handles them
    case StopReason::Watchpoint:
        return std::nullopt;
    case StopReason::Wfi:
    case StopReason::Wfe:
        return core_waits(c, s.reason == StopReason::Wfe);
    case StopReason::Svc:
        if (Semihosting::is_semihosting_call(c, s)) {
            if (auto status = semihosting_->handle(c))
                return RunOutcome{RunOutcome::Kind::GuestExit, *status, {}};
            return std::nullopt;
        }
        c.take_exception(ExceptionType::Svc, s.pc, s.thumb);
        exception_taken(c, ExceptionType::Svc, s.pc);
        break;
    case StopReason::Undefined:
        if (kernel_ && kernel_->is_gate(s.pc))
            return enter_kernel_gate(c);
        c.take_exception(ExceptionType::Undefined, s.pc, s.thumb);
        exception_taken(c, ExceptionType::Undefined, s.pc);
        break;
    case StopReason::Smc: // no Security Extensions for the guest: SMC is UNDEFINED
        c.take_exception(ExceptionType::Undefined, s.pc, s.thumb);
        exception_taken(c, ExceptionType::Undefined, s.pc);
        break;
    case StopReason::PrefetchAbort:
    case StopReason::DataAbort:
        c.take_abort(s);
        exception_taken(c,
                        s.reason == StopReason::DataAbort ? ExceptionType::DataAbort
                                                          : ExceptionType::PrefetchAbort,
                        s.pc);
        break;
    case StopReason::Error:
        return RunOutcome{RunOutcome::Kind::Fault, kExitUndeliverableFault,
                          fmt::format("cpu{}: emulation failed at 0x{:08x} (Unicorn error {})",
                                      c.index(), s.pc, s.uc_error)};
    }
    // A synchronous exception was taken. If it was raised by the first instruction
    // of the previous exception's handler, the handler cannot run at all. An abort
    // (undefined instruction) taken in abort (undefined) mode came from inside the
    // handler of one before it left that mode: it lost that one's LR and SPSR, and
    // in a row they are a recursive abort that no handler returns from.
    bool recursive = (s.reason == StopReason::DataAbort || s.reason == StopReason::PrefetchAbort ||
                      s.reason == StopReason::Undefined) &&
                     (c.spsr() & psr::M) == c.mode();
    exception_loop_ = (s.pc == last_vector_ || recursive) ? exception_loop_ + 1 : 0;
    last_vector_ = c.pc();
    if (exception_loop_ >= kMaxExceptionLoop)
        return RunOutcome{RunOutcome::Kind::Fault, kExitUndeliverableFault,
                          fmt::format("cpu{}: exception loop: {} exceptions in a row raised by "
                                      "the first instruction of their handler or inside it "
                                      "(a recursive abort; last at 0x{:08x})",
                                      c.index(), kMaxExceptionLoop, s.pc)};
    return std::nullopt;
}

namespace {

RunOutcome kernel_stop_outcome(const kernel::KernelStop& stop) {
    using K = kernel::KernelStop::Kind;
    switch (stop.kind) {
    case K::PowerOff:
        return RunOutcome{RunOutcome::Kind::PowerOff, stop.status, stop.message};
    case K::InitExit:
        return RunOutcome{RunOutcome::Kind::GuestExit, stop.status, stop.message};
    case K::Panic:
        break;
    }
    return RunOutcome{RunOutcome::Kind::Panic, stop.status, stop.message};
}

} // namespace

std::optional<RunOutcome> Machine::enter_kernel_gate(ArmCore& c) {
    auto stop = kernel_->enter_gate(c.index());
    if (!stop)
        return std::nullopt;
    return kernel_stop_outcome(*stop);
}

ArmCore::TrapAction Machine::kernel_gate_in_run(ArmCore& c, uint32_t pc) {
    // A debugger sees a gate as the stop it always was (stepping into it, a
    // breakpoint on it).
    // A gate is an ARM-state udf: in Thumb state its halfwords are other instructions.
    if (debugging_ || !kernel_->is_gate(pc) || c.thumb())
        return ArmCore::TrapAction::Decline;
    if (auto outcome = enter_kernel_gate(c)) {
        gate_outcome_ = std::move(outcome);
        return ArmCore::TrapAction::Stop;
    }
    // Whatever the run loop must see now (a line raised, a timer armed earlier, a
    // reset) has asked for the core's attention: it stops at the next block.
    return ArmCore::TrapAction::Continue;
}

std::optional<RunOutcome> Machine::prepare_slice(ArmCore& c, bool deliver) {
    if (auto outcome = between_slices(deliver))
        return outcome;
    if (deliver)
        deliver_interrupts(c);

    uint64_t stop_at = clock_.next_deadline();
    if (options_.duration_ns) {
        uint64_t end = clock_.ticks_to_cycles(options_.duration_ns, 1'000'000'000);
        if (clock_.now() >= end) {
            flush_outputs();
            return RunOutcome{RunOutcome::Kind::Duration, kExitOk, "run duration reached"};
        }
        stop_at = std::min(stop_at, end);
    }
    if (options_.max_insns) {
        uint64_t done = instructions();
        if (done >= options_.max_insns) {
            flush_outputs();
            return RunOutcome{RunOutcome::Kind::InsnLimit, kExitInsnLimit,
                              fmt::format("instruction limit reached ({} instructions)", done)};
        }
        stop_at = std::min(stop_at, clock_.now() + (options_.max_insns - done));
    }
    if (progress_) {
        progress_();
        stop_at = std::min(stop_at, clock_.now() + progress_slice_);
    }
    clock_.set_stop_at(stop_at);
    return std::nullopt;
}

std::optional<RunOutcome> Machine::between_slices(bool run_events) {
    for (;;) {
        if (stop_requested_) {
            flush_outputs();
            return RunOutcome{RunOutcome::Kind::HostSignal, kExitHostSignal,
                              "stopped by a host signal"};
        }
        clock_.clear_attention();
        if (dump_requested_) {
            dump_requested_ = false;
            dump_();
        }
        if (run_events)
            clock_.run_due();
        if (kernel_) {
            // A stop decided by an event (smp_send_stop()'s timeout), not in a gate.
            if (auto stop = kernel_->take_stop()) {
                flush_outputs();
                return kernel_stop_outcome(*stop);
            }
        }
        if (pending_exit_) {
            RunOutcome outcome = *pending_exit_;
            pending_exit_.reset();
            if (outcome.kind == RunOutcome::Kind::Reset && options_.reboot) {
                if (auto r = reboot(); r.is_error())
                    return RunOutcome{RunOutcome::Kind::Fault, kExitInternal, r.error().message};
                continue;
            }
            flush_outputs();
            return outcome;
        }
        return std::nullopt;
    }
}

RunOutcome Machine::run() {
    // Core 0 alone, time moving with it, until a second core runs: then the
    // round-robin (smp.cpp) takes over for the rest of the run.
    ArmCore& c = core();
    for (;;) {
        // A secondary's boot mailbox written before the run (the kernel model's
        // smp_init()): it starts with core 0.
        if (!smp_ && start_pending_ && !debugging_ && start_parked_cores())
            smp_ = true;
        if (smp_) {
            if (auto outcome = run_smp())
                return *outcome;
            continue; // a reset parked the secondaries again
        }
        if (auto outcome = prepare_slice(c))
            return *outcome;
        if (smp_)
            continue; // a reset with --smp-start all
        StopInfo s = c.run();
        broadcast_sev(c);
        // A parked core's mailbox was written: it starts where core 0 stopped, before
        // core 0's stop is handled (a WFI then waits in the round-robin).
        if (start_pending_ && start_parked_cores())
            smp_ = true;
        if (auto outcome = handle_stop(c, s)) {
            flush_outputs();
            return *outcome;
        }
    }
}

DebugStop Machine::debug_step(StepInterrupts irqs) {
    debugging_ = true; // core 0 alone from now on (docs/debugging.md)
    ArmCore& c = core();
    DebugStop d;
    d.cpu = c.index();
    exception_break_.reset();
    uint64_t entries = exceptions_taken_;
    if (auto outcome = prepare_slice(c, irqs == StepInterrupts::Deliver)) {
        d.kind = DebugStop::Kind::Ended;
        d.outcome = *outcome;
        return d;
    }
    // An interrupt taken before anything ran is the whole step.
    if (exceptions_taken_ != entries)
        return d;
    StopInfo s = c.step();
    if (s.reason == StopReason::Breakpoint) {
        // Stepping from a breakpoint steps over it (the debugger asked for this step).
        c.skip_breakpoint_once();
        s = c.step();
    }
    d.stop = s;
    if (s.reason == StopReason::Watchpoint)
        d.kind = DebugStop::Kind::Watchpoint;
    if (auto outcome = handle_stop(c, s)) {
        flush_outputs();
        d.kind = DebugStop::Kind::Ended;
        d.outcome = *outcome;
    }
    return d;
}

DebugStop Machine::debug_continue(const std::function<bool()>& interrupted) {
    debugging_ = true;
    ArmCore& c = core();
    DebugStop d;
    d.cpu = c.index();
    c.skip_breakpoint_once();
    for (;;) {
        exception_break_.reset();
        if (interrupted && interrupted()) {
            d.kind = DebugStop::Kind::Interrupted;
            return d;
        }
        if (auto outcome = prepare_slice(c)) {
            d.kind = DebugStop::Kind::Ended;
            d.outcome = *outcome;
            return d;
        }
        if (exception_break_) {
            d.kind = DebugStop::Kind::Exception;
            d.exception = *exception_break_;
            return d;
        }
        clock_.set_stop_at(std::min(clock_.stop_at(), clock_.now() + kDebugPollInsns));
        StopInfo s = c.run();
        if (s.reason == StopReason::Breakpoint || s.reason == StopReason::Watchpoint) {
            d.kind = s.reason == StopReason::Breakpoint ? DebugStop::Kind::Breakpoint
                                                        : DebugStop::Kind::Watchpoint;
            d.stop = s;
            return d;
        }
        if (auto outcome = handle_stop(c, s)) {
            flush_outputs();
            d.kind = DebugStop::Kind::Ended;
            d.outcome = *outcome;
            return d;
        }
        if (exception_break_) {
            d.kind = DebugStop::Kind::Exception;
            d.exception = *exception_break_;
            return d;
        }
    }
}

} // namespace piemu
