#include "piemu/machine.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "devices/pl011.hpp"
#include "machine/semihosting.hpp"
#include "piemu/exit_status.hpp"

namespace piemu {

namespace {
// Synchronous exceptions raised, again and again, by the first instruction of the
// handler they enter: no vector can take them, so stop instead of spinning.
constexpr unsigned kMaxExceptionLoop = 8;
} // namespace

Machine::Machine(const BoardInfo& board, const MachineOptions& options)
    : board_(board), options_(options), clock_(board.cpu_hz),
      // The peripheral window lies inside the installed RAM: the ARM sees RAM only
      // below it (the top of the 1 GiB belongs to the VideoCore on real boards).
      bus_(std::min(board.ram_size, board.peri_base)) {}

Machine::~Machine() {
    flush_outputs();
    if (uart_out_owned_ && uart_out_)
        std::fclose(uart_out_);
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

    if (options_.uart == "stdio") {
        uart_out_ = stdout;
    } else if (options_.uart != "none") {
        uart_out_ = std::fopen(options_.uart.c_str(), "wb");
        if (!uart_out_)
            return Error{fmt::format("{}: cannot open for writing: {}", options_.uart,
                                     std::strerror(errno))};
        uart_out_owned_ = true;
    }
    uart0_ = std::make_unique<Pl011>("uart0", clock_);
    uart0_->set_tx_sink([this](uint8_t c) {
        if (uart_out_)
            std::fputc(c, uart_out_);
    });
    TRY(bus_.add_device(board_.peri_base + 0x201000, *uart0_));
    // The Pi firmware (with enable_uart=1) leaves UART0 running at 115200 8N1 with
    // FIFOs on: 48 MHz / (16 * 115200) = 26.04 -> IBRD 26, FBRD 3. Bare images that
    // never touch the UART rely on that, as they do on hardware.
    uart0_->write(0x024, 26, 4);   // IBRD
    uart0_->write(0x028, 3, 4);    // FBRD
    uart0_->write(0x02c, 0x70, 4); // LCR_H: WLEN 8 bits, FEN
    uart0_->write(0x030, 0x301, 4); // CR: UARTEN, TXE, RXE

    semihosting_ = std::make_unique<Semihosting>(clock_, stdout);

    // Cores: one for now; the SMP work brings up the other three.
    auto core = std::make_unique<ArmCore>(0, clock_, bus_);
    TRY(core->init());
    reset_core_state(*core);
    cores_.push_back(std::move(core));
    return {};
}

void Machine::reset_core_state(ArmCore& core) {
    // What the Pi firmware leaves behind for the kernel: CNTFRQ programmed.
    // (Unicorn's own reset state is SVC mode with A/I/F masked, MMU off.)
    core.set_cp15(14, 0, 0, 0, board_.cntfrq);
}

ErrorOr<void> Machine::load(const std::string& path, std::optional<uint32_t> load_addr) {
    image_ = TRY(load_image(path, load_addr, bus_));
    core().set_pc(image_.entry, image_.entry_thumb);
    return {};
}

ErrorOr<void> Machine::load_linux(const LinuxBootParams& params) {
    image_ = TRY(piemu::load_linux(params, bus_));
    ArmCore& c = core();
    c.set_reg(0, image_.boot_r0);
    c.set_reg(1, image_.boot_r1);
    c.set_reg(2, image_.boot_r2);
    c.set_pc(image_.entry, false);
    return {};
}

uint64_t Machine::instructions() const {
    uint64_t n = 0;
    for (auto& c : cores_)
        n += c->instructions();
    return n;
}

void Machine::flush_outputs() {
    if (uart_out_)
        std::fflush(uart_out_);
    std::fflush(stdout);
}

void Machine::request_stop() {
    stop_requested_ = true;
    clock_.request_attention();
}

std::optional<RunOutcome> Machine::idle_until_event() {
    ArmCore& c = core();
    // WFI completes as soon as an interrupt is pending, masked or not
    // (ARM ARM B1.8.13).
    if (c.irq_line() || c.fiq_line())
        return std::nullopt;
    uint64_t next = clock_.next_deadline();
    if (next == VirtualClock::kNever) {
        return RunOutcome{RunOutcome::Kind::Deadlock, kExitGuestHang,
                          fmt::format("guest waits for an interrupt (at 0x{:08x}) but nothing "
                                      "can raise one",
                                      c.pc())};
    }
    if (next > clock_.now())
        clock_.set_now(next);
    return std::nullopt;
}

std::optional<RunOutcome> Machine::handle_stop(ArmCore& c, const StopInfo& s) {
    switch (s.reason) {
    case StopReason::Yield: return std::nullopt;
    case StopReason::Wfi:
    case StopReason::Wfe: return idle_until_event();
    case StopReason::Svc:
        if (Semihosting::is_semihosting_call(c, s)) {
            if (auto status = semihosting_->handle(c))
                return RunOutcome{RunOutcome::Kind::GuestExit, *status, {}};
            return std::nullopt;
        }
        c.take_exception(ExceptionType::Svc, s.pc, s.thumb);
        break;
    case StopReason::Smc: // no Security Extensions for the guest: SMC is UNDEFINED
    case StopReason::Undefined: c.take_exception(ExceptionType::Undefined, s.pc, s.thumb); break;
    case StopReason::PrefetchAbort:
    case StopReason::DataAbort: c.take_abort(s); break;
    case StopReason::Error:
        return RunOutcome{RunOutcome::Kind::Fault, kExitUndeliverableFault,
                          fmt::format("cpu{}: emulation failed at 0x{:08x} (Unicorn error {})",
                                      c.index(), s.pc, s.uc_error)};
    }
    // A synchronous exception was taken. If it was raised by the first instruction
    // of the previous exception's handler, the handler cannot run at all.
    exception_loop_ = (s.pc == last_vector_) ? exception_loop_ + 1 : 0;
    last_vector_ = c.pc();
    if (exception_loop_ >= kMaxExceptionLoop)
        return RunOutcome{RunOutcome::Kind::Fault, kExitUndeliverableFault,
                          fmt::format("cpu{}: exception loop: {} exceptions in a row raised by "
                                      "the first instruction of their handler (at 0x{:08x})",
                                      c.index(), kMaxExceptionLoop, s.pc)};
    return std::nullopt;
}

RunOutcome Machine::run() {
    ArmCore& c = core();
    for (;;) {
        if (stop_requested_) {
            flush_outputs();
            return {RunOutcome::Kind::HostSignal, kExitHostSignal, "stopped by a host signal"};
        }
        clock_.clear_attention();
        clock_.run_due();
        c.deliver_interrupts();

        uint64_t stop_at = clock_.next_deadline();
        if (options_.max_insns) {
            uint64_t done = instructions();
            if (done >= options_.max_insns) {
                flush_outputs();
                return {RunOutcome::Kind::InsnLimit, kExitInsnLimit,
                        fmt::format("instruction limit reached ({} instructions)", done)};
            }
            stop_at = std::min(stop_at, clock_.now() + (options_.max_insns - done));
        }
        clock_.set_stop_at(stop_at);

        StopInfo s = c.run();
        if (auto outcome = handle_stop(c, s)) {
            flush_outputs();
            return *outcome;
        }
    }
}

} // namespace piemu
