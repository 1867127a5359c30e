// The gdb stub's session: clients coming and going, the guest running or stopped
// under them, stop replies (see gdb_stub.hpp). The packets are gdb_commands.cpp's.
#include "debug/gdb_stub.hpp"

#include <utility>

#include <fmt/format.h>

#include "piemu/exit_status.hpp"

namespace piemu::gdb {

namespace {

/// gdb's signal numbers (gdb/signals.def) in stop replies.
constexpr int kSigInt = 2;
constexpr int kSigTrap = 5;

RunOutcome host_signal_outcome() {
    return RunOutcome{RunOutcome::Kind::HostSignal, kExitHostSignal, "stopped by a host signal"};
}

} // namespace

GdbStub::GdbStub(Machine& machine, Transport& transport)
    : machine_(machine), transport_(transport) {
    transport_.set_cancel([this] { return machine_.stop_requested(); });
}

RunOutcome GdbStub::serve(bool wait_for_client) {
    if (wait_for_client) {
        if (auto end = wait_for_first_client())
            return *end;
        attach();
    }
    for (;;) {
        if (!transport_.connected()) {
            // No debugger: the guest runs; a client that connects stops it.
            DebugStop d = machine_.debug_continue([this] { return poll_for_client(); });
            if (d.kind == DebugStop::Kind::Ended)
                return d.outcome;
            if (transport_.connected())
                attach();
            continue;
        }
        Served s = serve_stopped();
        if (s == Served::Kill) {
            transport_.disconnect();
            machine_.flush_outputs();
            return RunOutcome{RunOutcome::Kind::HostSignal, kExitDebuggerKill, "killed from gdb"};
        }
        if (s == Served::HostSignal) {
            send_packet(fmt::format("X{:02x}", kSigInt));
            transport_.disconnect();
            machine_.flush_outputs();
            return host_signal_outcome();
        }
        if (s == Served::Detach || s == Served::Gone) {
            release();
            continue;
        }
        if (auto end = run_guest(s == Served::Step))
            return *end;
    }
}

std::optional<RunOutcome> GdbStub::wait_for_first_client() {
    while (!transport_.connected()) { // a client that gave up before accept: wait on
        IoStatus st = transport_.accept(true);
        if (st == IoStatus::Cancelled) {
            machine_.flush_outputs();
            return host_signal_outcome();
        }
        if (st == IoStatus::Closed)
            return RunOutcome{RunOutcome::Kind::Fault, kExitInternal,
                              "gdb server: waiting for a connection failed"};
    }
    return std::nullopt;
}

std::optional<RunOutcome> GdbStub::run_guest(bool step) {
    if (step && std::exchange(access_done_, false)) {
        // gdb's ARM support expects a watchpoint to stop before the access and steps
        // over it with the watchpoint removed; piemu's stopped after it: the step gdb
        // asks for has been taken already.
        last_stop_ = fmt::format("T{:02x}thread:{:02x};", kSigTrap, stop_thread_);
        send_packet(last_stop_);
        return std::nullopt;
    }
    access_done_ = false;
    DebugStop d = step ? machine_.debug_step(hold_step_irqs_ ? Machine::StepInterrupts::Hold
                                                             : Machine::StepInterrupts::Deliver)
                       : machine_.debug_continue([this] { return poll_running(); });
    if (d.kind == DebugStop::Kind::Ended) {
        send_packet(exit_reply(d.outcome));
        transport_.disconnect();
        return d.outcome;
    }
    if (gone_) { // the client went away while the guest ran: as after a detach
        release();
        return std::nullopt;
    }
    last_stop_ = stop_reply(d);
    stop_thread_ = d.cpu + 1;
    access_done_ = d.kind == DebugStop::Kind::Watchpoint;
    send_packet(last_stop_);
    return std::nullopt;
}

void GdbStub::attach() {
    reader_.reset();
    pending_.clear();
    no_ack_ = false;
    interrupt_ = gone_ = access_done_ = false;
    g_thread_ = 1;
    last_sent_.clear();
    stop_thread_ = 1;
    last_stop_ = fmt::format("T{:02x}thread:{:02x};", kSigTrap, stop_thread_);
}

void GdbStub::release() {
    for (unsigned i = 0; i < machine_.core_count(); ++i) {
        ArmCore& c = machine_.core(i);
        for (auto& [addr, n] : breakpoints_)
            c.remove_breakpoint(addr);
        for (auto& [w, n] : watchpoints_)
            c.remove_watchpoint(std::get<0>(w), std::get<1>(w), WatchKind(std::get<2>(w)));
    }
    breakpoints_.clear();
    watchpoints_.clear();
    hold_step_irqs_ = true;
    transport_.disconnect();
    reader_.reset();
    pending_.clear();
}

void GdbStub::send_packet(std::string_view payload) {
    last_sent_ = frame(payload);
    transport_.send(last_sent_);
}

std::optional<GdbStub::Served> GdbStub::handle_event(const PacketEvent& e) {
    using K = PacketEvent::Kind;
    switch (e.kind) {
    case K::Ack:
    case K::Interrupt: // the guest is already stopped
        return std::nullopt;
    case K::Nak:
        if (!no_ack_ && !last_sent_.empty())
            transport_.send(last_sent_);
        return std::nullopt;
    case K::BadChecksum:
        if (!no_ack_)
            transport_.send("-");
        return std::nullopt;
    case K::Oversize:
        if (!no_ack_)
            transport_.send("+");
        send_packet("E22");
        return std::nullopt;
    case K::Packet:
        break;
    }
    if (!no_ack_)
        transport_.send("+");
    Action a = handle_packet(e.payload);
    switch (a.kind) {
    case Action::Kind::Reply:
        send_packet(a.reply);
        if (e.payload == "QStartNoAckMode")
            no_ack_ = true; // from the packet after this OK on
        return std::nullopt;
    case Action::Kind::Stay:
        send_packet(last_stop_); // nothing resumed: still stopped where it was
        return std::nullopt;
    case Action::Kind::Step:
        return Served::Step;
    case Action::Kind::Continue:
        return Served::Continue;
    case Action::Kind::Detach:
        send_packet("OK");
        return Served::Detach;
    case Action::Kind::Kill:
        if (e.payload.rfind("vKill", 0) == 0)
            send_packet("OK");
        return Served::Kill;
    }
    return std::nullopt;
}

GdbStub::Served GdbStub::serve_stopped() {
    interrupt_ = gone_ = false;
    for (;;) {
        while (!pending_.empty()) {
            PacketEvent e = std::move(pending_.front());
            pending_.pop_front();
            if (auto s = handle_event(e))
                return *s;
            if (!transport_.connected())
                return Served::Gone;
        }
        std::string bytes;
        IoStatus st = transport_.receive(bytes, true);
        if (st == IoStatus::Cancelled)
            return Served::HostSignal;
        if (st == IoStatus::Closed)
            return Served::Gone;
        for (char b : bytes)
            if (auto e = reader_.feed(b))
                pending_.push_back(std::move(*e));
    }
}

bool GdbStub::poll_due() {
    // Polls are counted in guest instructions (and slices, for an idle guest), never
    // in host time.
    uint64_t now = machine_.instructions();
    if (now - last_poll_insns_ < kPollInsns && ++slices_since_poll_ < kPollSlices)
        return false;
    last_poll_insns_ = now;
    slices_since_poll_ = 0;
    return true;
}

bool GdbStub::poll_running() {
    if (interrupt_ || gone_)
        return true;
    if (!poll_due())
        return false;
    std::string bytes;
    if (transport_.receive(bytes, false) == IoStatus::Closed) {
        gone_ = true;
        return true;
    }
    for (char b : bytes) {
        auto e = reader_.feed(b);
        if (!e)
            continue;
        if (e->kind == PacketEvent::Kind::Interrupt)
            interrupt_ = true;
        else
            pending_.push_back(std::move(*e)); // answered once the guest has stopped
    }
    return interrupt_;
}

bool GdbStub::poll_for_client() {
    if (!poll_due())
        return false;
    transport_.accept(false);
    return transport_.connected();
}

std::string GdbStub::stop_reply(const DebugStop& d) const {
    std::string thread = fmt::format("thread:{:02x};", d.cpu + 1);
    switch (d.kind) {
    case DebugStop::Kind::Interrupted:
        return fmt::format("T{:02x}{}", kSigInt, thread);
    case DebugStop::Kind::Watchpoint: {
        const char* kind = d.stop.watch == WatchKind::Write  ? "watch"
                           : d.stop.watch == WatchKind::Read ? "rwatch"
                                                             : "awatch";
        return fmt::format("T{:02x}{}{}:{:08x};", kSigTrap, thread, kind, d.stop.far);
    }
    default:
        return fmt::format("T{:02x}{}", kSigTrap, thread);
    }
}

std::string GdbStub::exit_reply(const RunOutcome& outcome) {
    // A host signal (SIGINT, SIGTERM, SIGHUP) ends piemu with 128 + SIGINT: gdb is
    // told of a SIGINT. Every other end is an exit with piemu's status.
    if (outcome.kind == RunOutcome::Kind::HostSignal)
        return fmt::format("X{:02x}", kSigInt);
    return fmt::format("W{:02x}", outcome.exit_status & 0xff);
}

} // namespace piemu::gdb
