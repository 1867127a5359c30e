// The gdb remote stub: `piemu run IMAGE --gdb tcp::1234 [--gdb-wait]` serves the GDB
// Remote Serial Protocol (gdb manual, appendix E) so that gdb-multiarch can debug the
// guest, as QEMU's -gdb does.
//
// What it serves: the ARM target description (org.gnu.gdb.arm.core and, always,
// org.gnu.gdb.arm.vfp: d0-d31 and fpscr), ?, g/G/p/P, m/M/X (through the current
// translation, RAM only: device registers are refused with E14 because reading one
// may change the device), c/C/s/S and vCont (c, C, s, S, t), Z0/Z1 (both piemu
// breakpoints) and Z2/Z3/Z4 (watchpoints), Ctrl-C, qSupported (PacketSize,
// qXfer:features:read, vContSupported, QStartNoAckMode), qAttached, qC,
// qfThreadInfo/qsThreadInfo, Hg/Hc, T, D, k, vKill and monitor commands (qRcmd:
// help, interrupts, trace on|off, step-irqs on|off). Anything else gets the empty
// reply. One thread per core, 1-based: thread N is core N-1.
//
// Run control (docs/debugging.md, "gdb"):
// - A single step holds interrupts and timer events (QEMU's default
//   SSTEP_NOIRQ | SSTEP_NOTIMER): stepping never enters an interrupt handler; what is
//   due is taken at the next continue. `monitor step-irqs on` steps as the run loop
//   runs instead.
// - Without a client the guest runs, and the stub polls for one between slices; a
//   client that connects stops the guest, as QEMU's does. After D, or when the
//   client goes away, breakpoints and watchpoints are dropped and the guest runs on
//   to its end; another client may attach later.
// - Watchpoints stop after the access (ArmCore's); gdb's ARM support, written for
//   watchpoints that stop before it, then steps once with the watchpoint removed:
//   that step is answered at once, so gdb reports the stop after the accessing
//   instruction with the old and the new value, as on hardware.
// - The end of the run is reported as W<status> (X02 for a host signal); k ends
//   piemu with status 137 (kExitDebuggerKill).
// Everything runs on the run loop's thread; the socket is polled every
// kPollInsns guest instructions at most, and nothing about host time reaches
// the machine.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "debug/gdb_packet.hpp"
#include "debug/gdb_transport.hpp"
#include "piemu/machine.hpp"

namespace piemu::gdb {

class GdbStub {
public:
    /// Guest instructions between two polls of the transport while the guest runs
    /// (and at most this many slices).
    static constexpr uint64_t kPollInsns = 200'000;
    static constexpr unsigned kPollSlices = 64;

    GdbStub(Machine& machine, Transport& transport);

    /// Runs the machine under the debugger until the run ends, piemu is killed from
    /// gdb, or a host signal arrives. With `wait_for_client`, nothing executes before
    /// the first client has connected.
    RunOutcome serve(bool wait_for_client);

private:
    /// What a packet asks of the run loop.
    struct Action {
        enum class Kind { Reply, Step, Continue, Stay, Detach, Kill };
        Kind kind = Kind::Reply;
        std::string reply; ///< for Reply
    };
    /// Why serving a stopped guest ended.
    enum class Served { Step, Continue, Detach, Gone, Kill, HostSignal };

    // ---- the session (gdb_stub.cpp)
    /// --gdb-wait: the outcome if the wait ended without a client (a host signal).
    std::optional<RunOutcome> wait_for_first_client();
    /// Steps or continues the guest and reports the stop; the outcome if the run ended.
    std::optional<RunOutcome> run_guest(bool step);
    void attach();
    /// Drops the client and everything it set (breakpoints, watchpoints, modes).
    void release();
    /// Reads and answers packets while the guest is stopped, until one resumes it.
    Served serve_stopped();
    /// Handles events already read (while the guest ran) before reading more.
    std::optional<Served> handle_event(const PacketEvent& e);
    void send_packet(std::string_view payload);
    /// The debug_continue() poll with a client: Ctrl-C, packets, a disconnect.
    bool poll_running();
    /// The debug_continue() poll without a client: a connection.
    bool poll_for_client();
    bool poll_due();
    std::string stop_reply(const DebugStop& d) const;
    static std::string exit_reply(const RunOutcome& outcome);

    // ---- packets (gdb_commands.cpp)
    Action handle_packet(std::string_view p);
    Action query(std::string_view p);
    Action vcont(std::string_view p);
    /// c/C/s/S with an optional address to resume at.
    Action resume(std::string_view p, bool step);
    std::string set_thread(std::string_view p);
    std::string read_memory(std::string_view p);
    std::string write_memory(std::string_view p, bool binary);
    std::string breakpoint(std::string_view p, bool insert);
    std::string read_target_xml(std::string_view p) const;
    /// qRcmd (gdb_monitor.cpp): output goes out as O packets, the result is the reply.
    std::string monitor(std::string_view hex);
    void console(std::string_view text);
    /// The core thread `t` (1-based) names; null if there is no such thread.
    ArmCore* thread_core(uint64_t t);
    ArmCore& g_core() { return machine_.core(g_thread_ - 1); }

    Machine& machine_;
    Transport& transport_;
    PacketReader reader_;
    std::deque<PacketEvent> pending_; ///< read while the guest ran
    std::string last_sent_;           ///< for a `-`
    std::string last_stop_ = "S05";   ///< the reply to `?`
    bool no_ack_ = false;
    bool interrupt_ = false; ///< Ctrl-C seen while running
    bool gone_ = false;      ///< the client went away while the guest ran
    /// The last stop was a watchpoint's, after the access: gdb's next single step
    /// (over the access, as it believes) is answered without running.
    bool access_done_ = false;
    unsigned g_thread_ = 1;    ///< Hg: registers and memory
    unsigned stop_thread_ = 1; ///< the thread of the last stop
    bool hold_step_irqs_ = true;
    uint64_t last_poll_insns_ = 0;
    unsigned slices_since_poll_ = 0;
    /// Breakpoints by address and watchpoints by (address, length, kind), each with
    /// the number of Z packets that set it (Z0 and Z1 at one address share it).
    std::map<uint32_t, unsigned> breakpoints_;
    std::map<std::tuple<uint32_t, uint32_t, int>, unsigned> watchpoints_;
};

} // namespace piemu::gdb
