// gdb's `monitor` commands (qRcmd): text goes back in O packets, then OK.
#include <fmt/format.h>

#include "debug/gdb_stub.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/trace.hpp"

namespace piemu::gdb {

namespace {

constexpr const char* kHelp =
    "piemu monitor commands:\n"
    "  help                 this list\n"
    "  interrupts           the kernel model's /proc/interrupts; without it, the\n"
    "                       interrupts delivered at each controller input, per core\n"
    "  trace on|off         resume or pause recording the --trace events (tracing_on)\n"
    "  trace                whether recording is on\n"
    "  step-irqs on|off     whether a single step may take an interrupt and fire due\n"
    "                       timers (default off, as QEMU's gdbstub)\n";

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

} // namespace

void GdbStub::console(std::string_view text) {
    // O packets carry hex: at most half a packet of text each.
    constexpr size_t kChunk = kMaxPacketSize / 2 - 1;
    for (size_t i = 0; i < text.size(); i += kChunk)
        send_packet("O" + to_hex(text.substr(i, kChunk)));
}

std::string GdbStub::monitor(std::string_view hex) {
    auto bytes = from_hex(hex);
    if (!bytes)
        return "E22";
    std::string line(bytes->begin(), bytes->end());
    std::string_view cmd = trim(line);
    std::string_view arg;
    if (size_t sp = cmd.find(' '); sp != std::string_view::npos) {
        arg = trim(cmd.substr(sp + 1));
        cmd = cmd.substr(0, sp);
    }

    if (cmd == "help" || cmd.empty()) {
        console(kHelp);
    } else if (cmd == "interrupts") {
        if (kernel::KernelModel* k = machine_.kernel_model())
            console(k->irq().show_interrupts());
        else
            console(machine_.deliveries().show(machine_.clock().now_ns()));
    } else if (cmd == "trace") {
        trace::Recorder* rec = machine_.recorder();
        if (!rec) {
            console("no trace is recorded (run with --trace FILE)\n");
        } else if (arg == "on" || arg == "off") {
            rec->set_tracing_on(arg == "on");
            console(fmt::format("trace recording {}\n", arg));
        } else if (arg.empty()) {
            console(fmt::format("trace recording is {}\n", rec->tracing_on() ? "on" : "off"));
        } else {
            console("usage: monitor trace on|off\n");
        }
    } else if (cmd == "step-irqs") {
        if (arg == "on" || arg == "off") {
            hold_step_irqs_ = arg == "off";
            console(fmt::format("single steps {} interrupts and timers\n",
                                hold_step_irqs_ ? "hold" : "deliver"));
        } else {
            console("usage: monitor step-irqs on|off\n");
        }
    } else {
        console(fmt::format("unknown monitor command '{}': try 'monitor help'\n", cmd));
    }
    return "OK";
}

} // namespace piemu::gdb
