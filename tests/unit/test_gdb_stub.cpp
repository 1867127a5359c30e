// The gdb stub against a real Machine through a scripted transport: the replies to
// each packet, malformed input (bad checksums, oversize and truncated packets,
// malformed hex, unknown commands), run control (breakpoints, watchpoints, Ctrl-C
// while the guest loops forever, single steps that hold interrupts), detach,
// disconnects and the end of the run.
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "debug/gdb_stub.hpp"
#include "kernel/kernel_model.hpp"
#include "piemu/exit_status.hpp"
#include "piemu/trace.hpp"

using namespace piemu;
using namespace piemu::gdb;

namespace {

/// A client that sends a script: each chunk once the stub has polled for input
/// `after_polls` times without blocking (the guest runs meanwhile), or at once when
/// the stub waits. `close` drops the connection there. After the script the client
/// has gone.
class FakeTransport final : public Transport {
public:
    struct Chunk {
        std::string bytes;
        unsigned after_polls = 0;
        bool close = false;
    };
    std::deque<Chunk> script;
    std::string sent;
    bool client = false;
    unsigned connects = 0;
    unsigned polls = 0;

    IoStatus accept(bool block) override {
        if (!client && (block || !script.empty())) {
            client = true;
            ++connects;
        }
        return IoStatus::Ok;
    }
    bool connected() const override { return client; }
    IoStatus receive(std::string& out, bool block) override {
        if (!client)
            return IoStatus::Closed;
        if (script.empty()) {
            if (!block)
                return IoStatus::Ok; // connected, sending nothing
            client = false;          // waited for, never comes: gone
            return IoStatus::Closed;
        }
        Chunk& c = script.front();
        if (!block && ++polls < c.after_polls)
            return IoStatus::Ok;
        polls = 0;
        bool close = c.close;
        out += c.bytes;
        script.pop_front();
        if (close) {
            client = false;
            return IoStatus::Closed;
        }
        return IoStatus::Ok;
    }
    void send(std::string_view bytes) override {
        if (client)
            sent += bytes;
    }
    void disconnect() override { client = false; }
};

std::string pkt(std::string_view payload) {
    return frame(payload);
}

/// The payloads of the packets in what the stub sent, in order.
std::vector<std::string> packets(const std::string& sent) {
    std::vector<std::string> out;
    PacketReader r(1 << 20);
    for (char c : sent)
        if (auto e = r.feed(c); e && e->kind == PacketEvent::Kind::Packet)
            out.push_back(e->payload);
    return out;
}

// mov r0,#1; mov r1,#2; movw r2,#0x9000; str r1,[r2]; add r0,r0,#1; b .-4
const std::vector<uint32_t> kLoop = {0xe3a00001, 0xe3a01002, 0xe3092000,
                                     0xe5821000, 0xe2800001, 0xeafffffd};

struct StubTest : ::testing::Test {
    std::unique_ptr<Machine> m;
    FakeTransport t;

    void SetUp() override { make({}); }

    void make(MachineOptions o) {
        o.uart = "none";
        if (!o.max_insns)
            o.max_insns = 20'000'000; // a client that goes away lets the loop end here
        auto created = Machine::create(o);
        ASSERT_FALSE(created.is_error()) << created.error().message;
        m = created.release_value();
        ASSERT_TRUE(m->bus().write_phys(
            0x8000, {reinterpret_cast<const uint8_t*>(kLoop.data()), kLoop.size() * 4}));
        m->core().set_pc(0x8000, false);
    }

    /// Queues packets for the stub (sent as soon as it reads).
    void send(std::initializer_list<std::string_view> payloads) {
        for (auto p : payloads)
            t.script.push_back({pkt(p)});
    }
    void send_raw(std::string bytes, unsigned after_polls = 0) {
        t.script.push_back({std::move(bytes), after_polls});
    }

    RunOutcome serve() { return GdbStub(*m, t).serve(true); }

    /// Sends `payloads` then `k`; returns the replies.
    std::vector<std::string> exchange(std::initializer_list<std::string_view> payloads) {
        send(payloads);
        send({"k"});
        RunOutcome r = serve();
        EXPECT_EQ(r.exit_status, kExitDebuggerKill);
        return packets(t.sent);
    }
};

std::string hex_of(std::string_view text) {
    return to_hex(text);
}

} // namespace

TEST_F(StubTest, Handshake) {
    auto r = exchange({"qSupported:multiprocess+;swbreak+;vContSupported+", "vMustReplyEmpty", "?",
                       "qAttached", "qC", "qfThreadInfo", "qsThreadInfo", "qOffsets", "qTStatus",
                       "qSymbol::"});
    ASSERT_EQ(r.size(), 10u);
    EXPECT_EQ(r[0], "PacketSize=4000;qXfer:features:read+;vContSupported+;QStartNoAckMode+");
    EXPECT_EQ(r[1], "");
    EXPECT_EQ(r[2], "T05thread:01;");
    EXPECT_EQ(r[3], "1");
    EXPECT_EQ(r[4], "QC01");
    EXPECT_EQ(r[5], "m01") << "one thread per core";
    EXPECT_EQ(r[6], "l");
    EXPECT_EQ(r[7], "");
    EXPECT_EQ(r[8], "");
    EXPECT_EQ(r[9], "OK");
    // Every packet was acknowledged.
    EXPECT_EQ(t.sent.rfind("+$PacketSize", 0), 0u);
}

TEST_F(StubTest, UnknownCommandsGetTheEmptyReply) {
    auto r = exchange({"qNoSuchQuery", "vNoSuchVerb", "!", "i", "bc", "Z9,8000,4", "j", "~"});
    ASSERT_EQ(r.size(), 8u);
    for (auto& reply : r)
        EXPECT_EQ(reply, "");
}

TEST_F(StubTest, BadChecksumGetsANakAndNothingElse) {
    send_raw("$g#00");
    send_raw(pkt("?"));
    send({"k"});
    serve();
    EXPECT_EQ(t.sent, "-+" + pkt("T05thread:01;") + "+");
}

TEST_F(StubTest, NakResendsTheLastPacket) {
    send({"?"});
    send_raw("-");
    send({"k"});
    serve();
    EXPECT_EQ(t.sent, "+" + pkt("T05thread:01;") + pkt("T05thread:01;") + "+");
}

TEST_F(StubTest, OversizePacketIsRefused) {
    std::string big = "M8000,4000:" + std::string(2 * 0x4000, '0');
    send_raw(pkt(big));
    send({"m8000,4"});
    auto r = exchange({});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0], "E22");
    EXPECT_EQ(r[1], "0100a0e3") << "memory unchanged";
}

TEST_F(StubTest, NoAckMode) {
    send({"QStartNoAckMode", "?"});
    send_raw("$g#00"); // a bad checksum: no NAK either
    send({"k"});
    serve();
    EXPECT_EQ(t.sent, "+" + pkt("OK") + pkt("T05thread:01;"));
}

TEST_F(StubTest, TargetDescription) {
    auto r =
        exchange({"qXfer:features:read:target.xml:0,20", "qXfer:features:read:target.xml:0,ffff",
                  "qXfer:features:read:target.xml:100000,10", "qXfer:features:read:other.xml:0,10",
                  "qXfer:features:read:target.xml:zz"});
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(r[0], "m<?xml version=\"1.0\"?>\n<!DOCTYPE ");
    ASSERT_EQ(r[1][0], 'l');
    EXPECT_NE(r[1].find("<feature name=\"org.gnu.gdb.arm.core\">"), std::string::npos);
    EXPECT_NE(r[1].find("<reg name=\"cpsr\" bitsize=\"32\" regnum=\"25\"/>"), std::string::npos);
    EXPECT_NE(r[1].find("<feature name=\"org.gnu.gdb.arm.vfp\">"), std::string::npos);
    EXPECT_NE(r[1].find("<reg name=\"d31\""), std::string::npos);
    EXPECT_NE(r[1].find("<reg name=\"fpscr\""), std::string::npos);
    EXPECT_EQ(r[2], "l");
    EXPECT_EQ(r[3], "E00");
    EXPECT_EQ(r[4], "E22");
}

TEST_F(StubTest, ReadRegisters) {
    ArmCore& c = m->core();
    c.set_reg(3, 0x11223344);
    auto r = exchange({"g", "p3", "pf", "p19", "p1a", "p3a", "p3b", "p10", "pzz"});
    ASSERT_EQ(r.size(), 9u);
    ASSERT_EQ(r[0].size(), 17 * 8 + 32 * 16 + 8u);
    EXPECT_EQ(r[0].substr(3 * 8, 8), "44332211");
    EXPECT_EQ(r[0].substr(15 * 8, 8), "00800000") << "pc";
    EXPECT_EQ(r[0].substr(16 * 8, 8), le_hex(c.cpsr(), 4)) << "cpsr after pc";
    EXPECT_EQ(r[1], "44332211");
    EXPECT_EQ(r[2], "00800000");
    EXPECT_EQ(r[3], le_hex(c.cpsr(), 4));
    EXPECT_EQ(r[4], "0000000000000000") << "d0";
    EXPECT_EQ(r[5], "00000000") << "fpscr";
    EXPECT_EQ(r[6], "E22") << "past fpscr";
    EXPECT_EQ(r[7], "E22") << "16-24 are not described";
    EXPECT_EQ(r[8], "E22");
}

TEST_F(StubTest, WriteRegisters) {
    auto r = exchange({"P3=efbeadde", "p3", "P1b=0807060504030201", "p1b", "P3=1234", "P3",
                       "Pzz=00000000", "P3a=00000003", "p3a"});
    ASSERT_EQ(r.size(), 9u);
    EXPECT_EQ(r[0], "OK");
    EXPECT_EQ(r[1], "efbeadde");
    EXPECT_EQ(r[2], "OK");
    EXPECT_EQ(r[3], "0807060504030201") << "d1";
    EXPECT_EQ(r[4], "E22") << "wrong width";
    EXPECT_EQ(r[5], "E22");
    EXPECT_EQ(r[6], "E22");
    EXPECT_EQ(r[7], "OK");
    EXPECT_EQ(r[8], "00000003");
    EXPECT_EQ(m->core().reg(3), 0xdeadbeefu);
}

TEST_F(StubTest, WriteAllRegistersSwitchesModeFirst) {
    // G with CPSR = IRQ mode: r13 lands in SP_irq, SP_svc keeps its value.
    ArmCore& c = m->core();
    uint32_t sp_svc = c.reg(13);
    std::string g;
    for (unsigned i = 0; i < 16; ++i)
        g += le_hex(i == 13 ? 0x7000 : i == 15 ? 0x8004 : i, 4);
    g += le_hex((c.cpsr() & ~psr::M) | uint32_t(CpuMode::Irq), 4);
    auto r = exchange({"G" + g.substr(0, 16), "Gzz", "G" + g, "p4"});
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0], "E22") << "a G of two registers";
    EXPECT_EQ(r[1], "E22");
    EXPECT_EQ(r[2], "OK");
    EXPECT_EQ(r[3], "04000000");
    EXPECT_EQ(c.mode(), uint32_t(CpuMode::Irq));
    EXPECT_EQ(c.reg(13), 0x7000u);
    EXPECT_EQ(c.pc(), 0x8004u);
    EXPECT_EQ(c.banked_sp(CpuMode::Svc), sp_svc);
}

TEST_F(StubTest, Memory) {
    auto r = exchange({"m8000,8", "M9000,4:0a0b0c0d", "m9000,4",
                       "X9004,4:" + std::string("}\x03}\x04}]a", 7), "m9004,4",
                       "X9000,0:", "m3f201000,4", "m3effffff,2", "mzz,4", "m8000", "M9000,4:0a0b",
                       "M9000,2:zzzz", "X9000,2:a", "M3f201000,4:00000000", "mffffffff,10"});
    ASSERT_EQ(r.size(), 15u);
    EXPECT_EQ(r[0], "0100a0e30210a0e3");
    EXPECT_EQ(r[1], "OK");
    EXPECT_EQ(r[2], "0a0b0c0d");
    EXPECT_EQ(r[3], "OK");
    EXPECT_EQ(r[4], "23247d61") << "X data unescaped";
    EXPECT_EQ(r[5], "OK") << "gdb's X probe";
    EXPECT_EQ(r[6], "E14") << "device registers are not read";
    EXPECT_EQ(r[7], "00") << "a partial read up to the first byte that is not RAM";
    EXPECT_EQ(r[8], "E22");
    EXPECT_EQ(r[9], "E22");
    EXPECT_EQ(r[10], "E22") << "length mismatch";
    EXPECT_EQ(r[11], "E22");
    EXPECT_EQ(r[12], "E22");
    EXPECT_EQ(r[13], "E14");
    EXPECT_EQ(r[14], "E14");
}

TEST_F(StubTest, WrittenCodeRuns) {
    // Patch `mov r1,#2` into `mov r1,#7` after the code has run once: the old
    // translation must not be used again.
    auto r = exchange({"Z0,8008,4", "c", "M8004,4:0710a0e3", "Pf=00800000", "c", "p1"});
    ASSERT_EQ(r.size(), 6u);
    EXPECT_EQ(r[1], "T05thread:01;");
    EXPECT_EQ(r[4], "T05thread:01;");
    EXPECT_EQ(r[5], "07000000");
}

TEST_F(StubTest, BreakpointsAndSteps) {
    auto r = exchange({"Z0,8010,4", "c", "pf", "p0", "c", "p0", "z0,8010,4", "s", "pf", "s", "pf",
                       "Z1,8014,4", "Z0,8014,4", "z0,8014,4", "c", "pf", "z1,8014,4", "Z0,zz,4",
                       "Z0,8000"});
    ASSERT_EQ(r.size(), 19u);
    EXPECT_EQ(r[0], "OK");
    EXPECT_EQ(r[1], "T05thread:01;");
    EXPECT_EQ(r[2], "10800000");
    EXPECT_EQ(r[3], "01000000");
    EXPECT_EQ(r[4], "T05thread:01;") << "continue from a breakpoint runs its instruction";
    EXPECT_EQ(r[5], "02000000");
    EXPECT_EQ(r[7], "T05thread:01;");
    EXPECT_EQ(r[8], "14800000");
    EXPECT_EQ(r[10], "10800000");
    EXPECT_EQ(r[12], "OK");
    EXPECT_EQ(r[13], "OK");
    EXPECT_EQ(r[14], "T05thread:01;") << "Z1 still holds the breakpoint Z0 shared";
    EXPECT_EQ(r[15], "14800000");
    EXPECT_FALSE(m->core().has_breakpoint(0x8014));
    EXPECT_EQ(r[17], "E22");
    EXPECT_EQ(r[18], "E22");
}

TEST_F(StubTest, LegacyResumeForms) {
    auto r = exchange({"Z0,8010,4", "c8000", "p1", "s8004", "pf", "C05;8000", "S05", "pf", "Czz"});
    ASSERT_EQ(r.size(), 9u);
    EXPECT_EQ(r[1], "T05thread:01;");
    EXPECT_EQ(r[2], "02000000");
    EXPECT_EQ(r[4], "08800000");
    EXPECT_EQ(r[5], "T05thread:01;");
    EXPECT_EQ(r[7], "14800000") << "S steps; its signal is ignored";
    EXPECT_EQ(r[8], "E22");
}

TEST_F(StubTest, VCont) {
    auto r = exchange({"vCont?", "vCont;s:1", "pf", "vCont;s:1;c", "pf", "vCont;t", "Z0,8014,4",
                       "vCont;c", "pf", "vCont;C05:1", "vCont;x", "vCont;s:zz", "vCont;"});
    ASSERT_EQ(r.size(), 13u);
    EXPECT_EQ(r[0], "vCont;c;C;s;S;t");
    EXPECT_EQ(r[1], "T05thread:01;");
    EXPECT_EQ(r[2], "04800000");
    EXPECT_EQ(r[4], "08800000");
    EXPECT_EQ(r[5], "T05thread:01;") << "nothing resumed";
    EXPECT_EQ(r[7], "T05thread:01;");
    EXPECT_EQ(r[8], "14800000");
    EXPECT_EQ(r[9], "T05thread:01;") << "C05 continues";
    EXPECT_EQ(r[10], "E22");
    EXPECT_EQ(r[11], "E22");
    EXPECT_EQ(r[12], "E22");
}

TEST_F(StubTest, Threads) {
    auto r = exchange({"Hg1", "Hg0", "Hg-1", "Hc-1", "Hg2", "Hc2", "Hgzz", "T1", "T2", "T0",
                       "qThreadExtraInfo,1", "qThreadExtraInfo,2", "Hx1"});
    ASSERT_EQ(r.size(), 13u);
    EXPECT_EQ(r[0], "OK");
    EXPECT_EQ(r[1], "OK");
    EXPECT_EQ(r[2], "OK");
    EXPECT_EQ(r[3], "OK");
    EXPECT_EQ(r[4], "E03");
    EXPECT_EQ(r[5], "E03");
    EXPECT_EQ(r[6], "E22");
    EXPECT_EQ(r[7], "OK");
    EXPECT_EQ(r[8], "E03");
    EXPECT_EQ(r[9], "E03");
    EXPECT_EQ(r[10], hex_of("CPU#0 SVC_32"));
    EXPECT_EQ(r[11], "E03");
    EXPECT_EQ(r[12], "");
}

TEST_F(StubTest, WatchpointStopsAfterTheAccessAndGdbsStepOverItIsAnswered) {
    auto r = exchange({"Z2,9000,4", "c", "pf", "m9000,4", "z2,9000,4", "s", "pf", "s", "pf",
                       "Z2,9000,0", "Z3,9000,4", "Z4,9000,4"});
    ASSERT_EQ(r.size(), 12u);
    EXPECT_EQ(r[0], "OK");
    EXPECT_EQ(r[1], "T05thread:01;watch:00009000;");
    EXPECT_EQ(r[2], "10800000") << "after the str";
    EXPECT_EQ(r[3], "02000000") << "the store has happened";
    EXPECT_EQ(r[5], "T05thread:01;");
    EXPECT_EQ(r[6], "10800000") << "the step over the access was taken already";
    EXPECT_EQ(r[8], "14800000") << "the next step runs";
    EXPECT_EQ(r[9], "E22") << "length 0";
    EXPECT_EQ(r[10], "OK");
    EXPECT_EQ(r[11], "OK");
}

// Regression: a 4-byte store at 0x9000 missed a watchpoint on 0x9002 (Unicorn bounds a
// memory hook by the access's first byte, and the hook started at the watched address).
TEST_F(StubTest, ReadAndAccessWatchpoints) {
    // ldr r3,[r2] after the store: rwatch for a read watchpoint, awatch for an access one.
    const std::vector<uint32_t> prog = {0xe3092000, 0xe5923000, 0xe5823000, 0xeafffffc};
    ASSERT_TRUE(m->bus().write_phys(0x8000, {reinterpret_cast<const uint8_t*>(prog.data()), 16}));
    auto r = exchange({"Z3,9000,4", "c", "pf", "z3,9000,4", "Z4,9002,1", "c", "pf", "c", "pf"});
    ASSERT_EQ(r.size(), 9u);
    EXPECT_EQ(r[1], "T05thread:01;rwatch:00009000;");
    EXPECT_EQ(r[2], "08800000");
    EXPECT_EQ(r[5], "T05thread:01;awatch:00009002;") << "the address within the watched range";
    EXPECT_EQ(r[6], "0c800000");
    EXPECT_EQ(r[7], "T05thread:01;awatch:00009002;");
    EXPECT_EQ(r[8], "08800000");
}

TEST_F(StubTest, CtrlCStopsAGuestThatLoopsForever) {
    send({"c"});
    send_raw("\x03", 5); // after five polls: the guest has run 1M+ instructions
    send({"pf", "p0"});
    auto r = exchange({});
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0], "T02thread:01;");
    EXPECT_TRUE(r[1] == "10800000" || r[1] == "14800000") << r[1];
    EXPECT_GT(m->instructions(), 4 * GdbStub::kPollInsns);
    EXPECT_LT(m->instructions(), 20'000'000u);
}

TEST_F(StubTest, PacketsSentWhileRunningAreAnsweredAfterTheStop) {
    send({"c"});
    send_raw(pkt("pf"), 3);
    send_raw("\x03", 2);
    auto r = exchange({});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0], "T02thread:01;");
    EXPECT_TRUE(r[1] == "10800000" || r[1] == "14800000") << r[1];
}

TEST_F(StubTest, EndOfRunIsAnExitReply) {
    MachineOptions o;
    o.max_insns = 1000;
    make(o);
    send({"c"});
    RunOutcome out = serve();
    EXPECT_EQ(out.kind, RunOutcome::Kind::InsnLimit);
    auto r = packets(t.sent);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0], "W7c") << "status 124";
    EXPECT_FALSE(t.client) << "the stub hangs up";
}

TEST_F(StubTest, DetachLetsTheGuestRunToItsEnd) {
    send({"Z0,8010,4", "Z2,9000,4", "D"});
    RunOutcome out = serve();
    EXPECT_EQ(out.kind, RunOutcome::Kind::InsnLimit);
    auto r = packets(t.sent);
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[2], "OK");
    EXPECT_FALSE(m->core().has_breakpoint(0x8010)) << "breakpoints go with the client";
}

TEST_F(StubTest, ClientGoneMidPacketLetsTheGuestRunOn) {
    send({"Z0,8010,4"});
    send_raw("$m8000,");
    RunOutcome out = serve();
    EXPECT_EQ(out.kind, RunOutcome::Kind::InsnLimit);
    EXPECT_FALSE(m->core().has_breakpoint(0x8010));
}

TEST_F(StubTest, ClientGoneWhileRunning) {
    send({"c"});
    t.script.push_back({"", 3, true});
    RunOutcome out = serve();
    EXPECT_EQ(out.kind, RunOutcome::Kind::InsnLimit);
    EXPECT_EQ(packets(t.sent).size(), 0u);
}

TEST_F(StubTest, AttachWithoutWaiting) {
    // Without --gdb-wait the guest runs until a client connects, then stops.
    send({"pf", "k"});
    GdbStub stub(*m, t);
    RunOutcome out = stub.serve(false);
    EXPECT_EQ(out.exit_status, kExitDebuggerKill);
    EXPECT_GT(m->instructions(), 0u);
    auto r = packets(t.sent);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_TRUE(r[0] == "10800000" || r[0] == "14800000") << r[0];
}

TEST_F(StubTest, VKill) {
    send({"vKill;1"});
    RunOutcome out = serve();
    EXPECT_EQ(out.exit_status, kExitDebuggerKill);
    EXPECT_EQ(packets(t.sent), std::vector<std::string>{"OK"});
}

TEST_F(StubTest, MonitorCommands) {
    auto r = exchange({"qRcmd," + hex_of("help"), "qRcmd," + hex_of("interrupts"),
                       "qRcmd," + hex_of("trace on"), "qRcmd," + hex_of("bogus"), "qRcmd,zz"});
    ASSERT_EQ(r.size(), 9u);
    EXPECT_EQ(r[0].substr(0, 1), "O");
    EXPECT_NE(r[0].find(hex_of("step-irqs on|off")), std::string::npos);
    EXPECT_EQ(r[1], "OK");
    // Without the kernel model: the deliveries counted at the controllers.
    EXPECT_EQ(r[2], "O" + hex_of(m->deliveries().show(m->clock().now_ns())));
    EXPECT_NE(r[2].find(hex_of("piemu: interrupt deliveries at the controllers, ")),
              std::string::npos);
    EXPECT_EQ(r[4], "O" + hex_of("no trace is recorded (run with --trace FILE)\n"));
    EXPECT_EQ(r[6], "O" + hex_of("unknown monitor command 'bogus': try 'monitor help'\n"));
    EXPECT_EQ(r[7], "OK");
    EXPECT_EQ(r[8], "E22");
}

TEST_F(StubTest, MonitorInterruptsAndTrace) {
    std::string trace_file = ::testing::TempDir() + "gdb_stub_trace.txt";
    MachineOptions o;
    o.kernel_model = true;
    o.trace_file = trace_file;
    make(o);
    m->start_idle();
    auto r = exchange({"qRcmd," + hex_of("interrupts"), "qRcmd," + hex_of("trace off"),
                       "qRcmd," + hex_of("trace")});
    ASSERT_EQ(r.size(), 6u);
    auto text = from_hex(r[0].substr(1));
    ASSERT_TRUE(text);
    EXPECT_EQ(std::string(text->begin(), text->end()), m->kernel_model()->irq().show_interrupts());
    EXPECT_EQ(r[1], "OK");
    EXPECT_EQ(r[2], "O" + hex_of("trace recording off\n"));
    EXPECT_EQ(r[4], "O" + hex_of("trace recording is off\n"));
    ASSERT_NE(m->recorder(), nullptr);
    EXPECT_FALSE(m->recorder()->tracing_on());
    std::remove(trace_file.c_str());
}

TEST(MachineDebugStep, HoldTakesNoInterruptDeliverDoes) {
    MachineOptions o;
    o.uart = "none";
    auto m = Machine::create(o).release_value();
    const std::vector<uint32_t> prog = {0xe3a00001, 0xe3a00002, 0xe3a00003, 0xeafffffe};
    ASSERT_TRUE(m->bus().write_phys(0x8000, {reinterpret_cast<const uint8_t*>(prog.data()), 16}));
    ArmCore& c = m->core();
    c.set_pc(0x8000, false);
    c.set_cpsr(c.cpsr() & ~psr::I);
    c.set_irq_input(ArmCore::kIrqInput, true);
    DebugStop d = m->debug_step(Machine::StepInterrupts::Hold);
    EXPECT_EQ(d.kind, DebugStop::Kind::Step);
    EXPECT_EQ(c.mode(), uint32_t(CpuMode::Svc));
    EXPECT_EQ(c.pc(), 0x8004u);
    d = m->debug_step(Machine::StepInterrupts::Hold);
    EXPECT_EQ(c.pc(), 0x8008u);
    d = m->debug_step(Machine::StepInterrupts::Deliver);
    EXPECT_EQ(c.mode(), uint32_t(CpuMode::Irq)) << "the interrupt's entry is the step";
    EXPECT_EQ(c.reg(14), 0x8008u + 4);
}
