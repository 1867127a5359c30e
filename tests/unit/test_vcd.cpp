// --vcd: the writer's format (IEEE 1364 section 18) read back by a small parser, and
// a bare guest's system-timer interrupt seen as edges at the times the trace has.
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "piemu/machine.hpp"
#include "trace/vcd.hpp"

using namespace piemu;

namespace {

/// A parsed VCD: wires by full name ("scope.wire"), and each wire's changes.
struct Vcd {
    std::map<std::string, std::string> id_of;                             // name -> id
    std::map<std::string, std::vector<std::pair<uint64_t, int>>> changes; // id -> (t, v)
    std::string error;
};

Vcd parse(const std::string& text) {
    Vcd v;
    std::istringstream in(text);
    std::string tok, scope;
    bool defs = true, dumpvars = false;
    uint64_t t = 0;
    bool have_t = false;
    while (in >> tok) {
        if (defs) {
            if (tok == "$scope") {
                std::string kind, name, end;
                in >> kind >> name >> end;
                if (name != "piemu")
                    scope = name;
            } else if (tok == "$var") {
                std::string type, width, id, name, end;
                in >> type >> width >> id >> name >> end;
                if (type != "wire" || width != "1" || end != "$end")
                    v.error = "bad $var " + name;
                if (v.id_of.count(scope + "." + name))
                    v.error = "duplicate " + scope + "." + name;
                v.id_of[scope + "." + name] = id;
            } else if (tok == "$enddefinitions") {
                in >> tok;
                defs = false;
            } else if (tok == "$version" || tok == "$timescale") {
                while (in >> tok && tok != "$end") {
                }
            }
            continue;
        }
        if (tok == "$dumpvars") {
            dumpvars = true;
        } else if (tok == "$end") {
            dumpvars = false;
        } else if (tok[0] == '#') {
            uint64_t n = std::stoull(tok.substr(1));
            if (have_t && n <= t)
                v.error = "time not increasing at " + tok;
            t = n;
            have_t = true;
        } else if (tok[0] == '0' || tok[0] == '1') {
            v.changes[tok.substr(1)].push_back({dumpvars ? 0 : t, tok[0] - '0'});
        } else {
            v.error = "unexpected " + tok;
        }
    }
    return v;
}

} // namespace

TEST(Vcd, IdentifierCodesArePrintableAndDistinct) {
    EXPECT_EQ(trace::VcdWriter::id_code(0), "!");
    EXPECT_EQ(trace::VcdWriter::id_code(93), "~");
    EXPECT_EQ(trace::VcdWriter::id_code(94), "!\"");
    std::map<std::string, int> seen;
    for (uint32_t i = 0; i < 20000; ++i)
        EXPECT_EQ(seen[trace::VcdWriter::id_code(i)]++, 0) << i;
}

TEST(Vcd, WriterOutputParsesBack) {
    std::string path = testing::TempDir() + "/w.vcd";
    {
        trace::VcdWriter w;
        ASSERT_FALSE(w.open(path, "--vcd").is_error());
        uint32_t a = w.add_wire("timer@7e003000", "irq1", false);
        uint32_t b = w.add_wire("local_intc@40000000", "cpu0.irq", true);
        w.begin();
        w.change(a, 100, true);
        w.change(b, 100, false);
        w.change(a, 250, false);
    }
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    Vcd v = parse(ss.str());
    EXPECT_EQ(v.error, "");
    ASSERT_EQ(v.id_of.count("timer_7e003000.irq1"), 1u);
    ASSERT_EQ(v.id_of.count("local_intc_40000000.cpu0_irq"), 1u);
    auto a = v.changes[v.id_of["timer_7e003000.irq1"]];
    EXPECT_EQ(a, (std::vector<std::pair<uint64_t, int>>{{0, 0}, {100, 1}, {250, 0}}));
    auto b = v.changes[v.id_of["local_intc_40000000.cpu0_irq"]];
    EXPECT_EQ(b, (std::vector<std::pair<uint64_t, int>>{{0, 1}, {100, 0}}));
}

TEST(Vcd, UnwritableFileIsOneClearError) {
    trace::VcdWriter w;
    auto r = w.open("/nonexistent-dir/x.vcd", "--vcd");
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error().message,
              "--vcd /nonexistent-dir/x.vcd: cannot open for writing: No such file or directory");
}

#ifdef PIEMU_TEST_FIRMWARE_DIR
TEST(Vcd, SystemTimerInterruptEdgesOfABareGuest) {
    std::string path = testing::TempDir() + "/systimer.vcd";
    MachineOptions o;
    o.uart = "none";
    o.vcd_file = path;
    auto made = Machine::create(o);
    ASSERT_FALSE(made.is_error()) << made.error().message;
    auto m = made.release_value();
    ASSERT_FALSE(m->load(PIEMU_TEST_FIRMWARE_DIR "/irq_systimer.elf", std::nullopt).is_error());
    RunOutcome r = m->run();
    EXPECT_EQ(r.kind, RunOutcome::Kind::GuestExit);
    m.reset();
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    Vcd v = parse(ss.str());
    EXPECT_EQ(v.error, "");
    // Match 1 raises the system timer's irq1 at 101 us (tests/golden/
    // trace_image_irq_systimer.txt) and the handler clears it; the ARMCTRL and the
    // core's IRQ input follow at the same instants.
    auto irq1 = v.changes[v.id_of["timer_7e003000.irq1"]];
    ASSERT_GE(irq1.size(), 3u);
    EXPECT_EQ(irq1[0], (std::pair<uint64_t, int>{0, 0}));
    EXPECT_EQ(irq1[1].second, 1);
    EXPECT_EQ(irq1[1].first / 1000, 101u);
    EXPECT_EQ(irq1[2].second, 0);
    auto ctl = v.changes[v.id_of["interrupt_controller_7e00b200.irq"]];
    ASSERT_GE(ctl.size(), 3u);
    EXPECT_EQ(ctl[1], irq1[1]);
    EXPECT_EQ(ctl[2], irq1[2]);
}
#endif
