// `piemu trace plot` (trace/plot.hpp): the layout of a small hand-written trace, box by
// box with its coordinates; windows, bad fields, times and the atomic write.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <tuple>

#include <gtest/gtest.h>

#include "loader_temp_dir.hpp"
#include "trace/plot.hpp"

using namespace piemu::trace;

namespace {

// tests/data/plot_small.trace, lines 3..12. CPU 0: IRQ 31's handler, a TIMER softirq,
// then init switches to IRQ 31's thread, which sleeps (the idle task follows: not
// drawn). CPU 1: a FIQ exception, then an IRQ exception and arch_timer's handler,
// whose exit is not in the trace, and an exit of IRQ 62 whose entry is not.
// (tests/golden/plot_small.svg is its SVG; tests/integration/check-plot renders it and reads these
// boxes' pixels.)
const std::string kTrace = [] {
    std::ifstream in(std::string(PIEMU_TEST_DATA_DIR) + "/plot_small.trace");
    return std::string((std::istreambuf_iterator<char>(in)), {});
}();

Trace read(const std::string& text) {
    auto t = read_trace(text);
    EXPECT_FALSE(t.is_error()) << t.error().message;
    return t.release_value();
}

PlotLayout layout(const std::string& text, PlotOptions options) {
    auto l = layout_plot(read(text), options);
    EXPECT_FALSE(l.is_error()) << l.error().message;
    return l.release_value();
}

struct Box {
    std::size_t row;
    PlotKind kind;
    std::int64_t x, y, w, h;
    bool open_start, open_end;
    std::string label;
    bool operator==(const Box&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Box& b) {
    return os << "{row " << b.row << " kind " << plot_kind_name(b.kind) << " x " << b.x << " y "
              << b.y << " w " << b.w << " h " << b.h << " open " << b.open_start << b.open_end
              << " '" << b.label << "'}";
}

std::vector<Box> boxes(const PlotLayout& l) {
    std::vector<Box> out;
    for (const PlotBox& b : l.boxes)
        out.push_back({b.row, b.kind, b.x, b.y, b.w, b.h, b.open_start, b.open_end, b.label});
    return out;
}

} // namespace

// 1083 px wide: a label column of 24 + 7 x 17 px ("irq 17 arch_timer"), a plot area of
// 900 px for the trace's 900 us and a right margin of 40 px, so x = 143 px + 1 px per us.
// Coordinates are in hundredths of a pixel.
TEST(TracePlot, LayoutOfASmallTrace) {
    PlotLayout l = layout(kTrace, {.width = 1083});
    EXPECT_EQ(l.t0, 100000u);
    EXPECT_EQ(l.t1, 1000000u);
    EXPECT_EQ(l.plot_left, 14300);
    EXPECT_EQ(l.plot_right, 104300);

    ASSERT_EQ(l.rows.size(), 5u);
    std::vector<std::string> labels;
    for (const PlotRow& r : l.rows)
        labels.push_back(r.label);
    EXPECT_EQ(labels, (std::vector<std::string>{"CPU 0", "CPU 1", "irq 17 arch_timer", "irq 31 t",
                                                "irq 62"}));
    // Rows start below the 40 px title: CPU rows 58 px, IRQ rows 34 px.
    EXPECT_EQ(l.rows[0].y, 4000);
    EXPECT_EQ(l.rows[1].y, 9800);
    EXPECT_EQ(l.rows[2].y, 15600);
    EXPECT_EQ(l.rows[3].y, 19000);
    EXPECT_EQ(l.rows[4].y, 22400);
    EXPECT_EQ(l.axis_y, 26600);

    using K = PlotKind;
    std::vector<Box> want = {
        // CPU 0: hardirq lane at +14 px, softirq at +28, task at +42; 1 us = 1 px.
        {0, K::hardirq, 14300, 5400, 10000, 1200, false, false, "31 t"},
        {0, K::task, 14300, 8200, 30000, 1200, true, false, "init"}, // running before the trace
        {0, K::softirq, 24300, 6800, 10000, 1200, false, false, "TIMER"},
        {0, K::irq_thread, 44300, 8200, 20000, 1200, false, false, "irq/31-t"},
        // CPU 1: IRQ 62's exit without its entry starts at CPU 1's first event (the FIQ
        // at 0.000150 s); arch_timer's entry without its exit ends at the trace's end.
        {1, K::hardirq_unhandled, 19300, 11200, 85000, 1200, true, false, "62"},
        {1, K::hardirq, 74300, 11200, 30000, 1200, false, true, "17 arch_timer"},
        // IRQ rows: handlers at +4 px, the IRQ thread at +18.
        {2, K::hardirq, 74300, 16000, 30000, 1200, false, true, "arch_timer"},
        {3, K::hardirq, 14300, 19400, 10000, 1200, false, false, "t"},
        {3, K::irq_thread, 44300, 20800, 20000, 1200, false, false, "irq/31-t"},
        {4, K::hardirq_unhandled, 19300, 22800, 85000, 1200, true, false, ""},
    };
    EXPECT_EQ(boxes(l), want);

    ASSERT_EQ(l.markers.size(), 2u);
    EXPECT_EQ(l.markers[0].row, 1u);
    EXPECT_EQ(l.markers[0].type, "fiq");
    EXPECT_EQ(l.markers[0].x, 19300);
    EXPECT_EQ(l.markers[1].type, "irq");
    EXPECT_EQ(l.markers[1].x, 74300);
    EXPECT_EQ(l.markers[1].y, 10200);
    EXPECT_EQ(l.markers[1].title, "exception irq from svc at pc 0x00001000 on CPU 1: 0.000700 s");

    // A tick every 100 px: 0.0001 .. 0.0010 s.
    ASSERT_EQ(l.ticks.size(), 10u);
    EXPECT_EQ(l.ticks.front().label, "0.0001");
    EXPECT_EQ(l.ticks.front().x, 14300);
    EXPECT_EQ(l.ticks[1].x, 24300);
    EXPECT_EQ(l.ticks.back().label, "0.0010");
    EXPECT_EQ(l.ticks.back().x, 104300);

    EXPECT_EQ(l.boxes[0].title, "irq 31 t on CPU 0: 0.000100 s to 0.000200 s, handled");
    EXPECT_EQ(l.boxes[1].title, "init-1 on CPU 0, prio 120: 0.000100 s (or before) to 0.000400 s");
    EXPECT_EQ(l.boxes[4].title,
              "irq 62 on CPU 1: 0.000150 s (entry not traced) to 0.001000 s, unhandled");
}

// A window clips the boxes to it and drops those outside; the rows stay.
TEST(TracePlot, WindowClipsAndDrops) {
    PlotLayout l = layout(kTrace, {.from_ns = 250000, .to_ns = 450000, .width = 1083});
    EXPECT_EQ(l.rows.size(), 5u);
    // 200 us over 900 px: 4.5 px per us.
    std::vector<Box> got = boxes(l);
    std::vector<Box> want = {
        {0, PlotKind::task, 14300, 8200, 67500, 1200, true, false, "init"},
        {0, PlotKind::softirq, 14300, 6800, 22500, 1200, false, false, "TIMER"},
        {0, PlotKind::irq_thread, 81800, 8200, 22500, 1200, false, false, "irq/31-t"},
        {1, PlotKind::hardirq_unhandled, 14300, 11200, 90000, 1200, true, false, "62"},
        {3, PlotKind::irq_thread, 81800, 20800, 22500, 1200, false, false, "irq/31-t"},
        {4, PlotKind::hardirq_unhandled, 14300, 22800, 90000, 1200, true, false, ""},
    };
    EXPECT_EQ(got, want);
    EXPECT_TRUE(l.markers.empty());
    // A tick every 50 us (20 us would put them 90 px apart), with fixed decimals.
    ASSERT_EQ(l.ticks.size(), 5u);
    EXPECT_EQ(l.ticks[0].label, "0.00025");
    EXPECT_EQ(l.ticks[0].x, 14300);
    EXPECT_EQ(l.ticks[3].label, "0.00040");
    EXPECT_EQ(l.ticks[3].x, 14300 + 67500);
    EXPECT_EQ(l.ticks[4].label, "0.00045");
}

// A handler shorter than the trace's microsecond (entry and exit at the same
// timestamp) is still two pixels wide.
TEST(TracePlot, ShortSpansAreTwoPixelsWide) {
    PlotLayout l = layout("# tracer: nop\n"
                          "  a-1 [000] d.h. 0.000000: irq_handler_entry: irq=5 name=x\n"
                          "  a-1 [000] d.h. 0.000000: irq_handler_exit: irq=5 ret=handled\n"
                          "  a-1 [000] d.h. 1.000000: irq_handler_entry: irq=5 name=x\n"
                          "  a-1 [000] d.h. 1.000000: irq_handler_exit: irq=5 ret=handled\n",
                          {.width = 1000});
    ASSERT_EQ(l.boxes.size(), 4u);
    for (const PlotBox& b : l.boxes)
        EXPECT_EQ(b.w, 200);
    // The last one ends at the right edge.
    EXPECT_EQ(l.boxes[1].x + l.boxes[1].w, l.plot_right);
}

// A shared line's actions within one microsecond (IRQ 62 on a Pi 3: dwc_otg and
// dwc_otg_pcd unhandled, dwc_otg_hcd:usb1 handled) are placed side by side in trace
// order, in the IRQ row and in the CPU row; a span that starts inside an open one
// keeps its place.
TEST(TracePlot, ShortSpansSideBySide) {
    PlotLayout l =
        layout("# tracer: nop\n"
               "  a-1 [000] d.h. 0.000000: irq_handler_entry: irq=62 name=dwc_otg\n"
               "  a-1 [000] d.h. 0.000000: irq_handler_exit: irq=62 ret=unhandled\n"
               "  a-1 [000] d.h. 0.000000: irq_handler_entry: irq=62 name=dwc_otg_pcd\n"
               "  a-1 [000] d.h. 0.000000: irq_handler_exit: irq=62 ret=unhandled\n"
               "  a-1 [000] d.h. 0.000000: irq_handler_entry: irq=62 name=dwc_otg_hcd:usb1\n"
               "  a-1 [000] d.h. 0.000000: irq_handler_exit: irq=62 ret=handled\n"
               "  a-1 [000] d.h. 0.000500: irq_handler_exit: irq=17 ret=handled\n"
               "  a-1 [000] d.h. 0.000500: irq_handler_entry: irq=5 name=x\n"
               "  a-1 [000] d.h. 0.001000: irq_handler_exit: irq=5 ret=handled\n",
               {.width = 1000});
    std::vector<std::tuple<std::size_t, PlotKind, std::int64_t, std::string>> got;
    for (const PlotBox& b : l.boxes)
        got.emplace_back(b.row, b.kind, b.x - l.plot_left, b.label);
    using K = PlotKind;
    std::int64_t half = (l.plot_right - l.plot_left) / 2;
    EXPECT_EQ(l.boxes[3].x + l.boxes[3].w, l.plot_left + half);
    std::vector<std::tuple<std::size_t, PlotKind, std::int64_t, std::string>> want = {
        {0, K::hardirq_unhandled, 0, "62 dwc_otg"},
        {0, K::hardirq_unhandled, 200, "62 dwc_otg_pcd"},
        {0, K::hardirq, 400, "62 dwc_otg_hcd:usb1"},
        // 17's entry is not traced: from the trace's start (after IRQ 62) to 0.0005 s,
        // where 5 starts.
        {0, K::hardirq, 600, "17"},
        {0, K::hardirq, half, "5 x"},
        {1, K::hardirq, half, "x"},
        {2, K::hardirq, 0, ""},
        {3, K::hardirq_unhandled, 0, "dwc_otg"},
        {3, K::hardirq_unhandled, 200, "dwc_otg_pcd"},
        {3, K::hardirq, 400, "dwc_otg_hcd:usb1"},
    };
    EXPECT_EQ(got, want);
}

TEST(TracePlot, BadFieldsNameTheLine) {
    std::string bad = kTrace;
    ASSERT_FALSE(bad.empty());
    bad += "  a-1 [000] d.h. 0.002000: irq_handler_entry: irq=x name=y\n";
    auto l = layout_plot(read(bad), {});
    ASSERT_TRUE(l.is_error());
    EXPECT_EQ(l.error().message,
              "line 13: irq_handler_entry: expected 'irq=N name=NAME', got 'irq=x name=y'");

    auto s = layout_plot(read("# tracer: nop\n"
                              "  a-1 [000] .... 0.100000: sched_switch: prev_comm=a\n"),
                         {});
    ASSERT_TRUE(s.is_error());
    EXPECT_EQ(s.error().message, "line 2: sched_switch: expected 'prev_comm=A prev_pid=N ... ==> "
                                 "next_comm=B next_pid=M next_prio=P', got 'prev_comm=a'");
}

TEST(TracePlot, WindowAndWidthErrors) {
    auto l = layout_plot(read(kTrace), {.from_ns = 500000, .to_ns = 400000});
    ASSERT_TRUE(l.is_error());
    EXPECT_EQ(l.error().message, "--from 0.000500 s is not before --to 0.000400 s");
    auto w = layout_plot(read(kTrace), {.width = 10});
    ASSERT_TRUE(w.is_error());
    EXPECT_EQ(w.error().message, "--width 10 is outside 400..100000");
}

TEST(TracePlot, EmptyTraceHasNoRows) {
    PlotLayout l = layout("# tracer: nop\n", {});
    EXPECT_TRUE(l.rows.empty());
    EXPECT_NE(render_svg(l).find("no events in this trace"), std::string::npos);
}

TEST(TracePlot, ParseTime) {
    EXPECT_EQ(parse_plot_time("0.0015"), 1500000u);
    EXPECT_EQ(parse_plot_time("4486.577344"), 4486577344000u);
    EXPECT_EQ(parse_plot_time("2s"), 2000000000u);
    EXPECT_EQ(parse_plot_time("1.5ms"), 1500000u);
    EXPECT_EQ(parse_plot_time("250us"), 250000u);
    EXPECT_EQ(parse_plot_time("20ns"), 20u);
    EXPECT_EQ(parse_plot_time(".5"), 500000000u);
    EXPECT_EQ(parse_plot_time("0.0000000001"), std::nullopt); // below a nanosecond
    EXPECT_EQ(parse_plot_time("1.5ns"), std::nullopt);
    EXPECT_EQ(parse_plot_time(""), std::nullopt);
    EXPECT_EQ(parse_plot_time("ms"), std::nullopt);
    EXPECT_EQ(parse_plot_time("1.2.3"), std::nullopt);
    EXPECT_EQ(parse_plot_time("-1"), std::nullopt);
    EXPECT_EQ(parse_plot_time("99999999999999999999"), std::nullopt);
}

// Labels and titles are XML-escaped; the same layout renders to the same bytes.
TEST(TracePlot, SvgEscapesAndIsDeterministic) {
    std::string t = "# tracer: nop\n"
                    "  <idle>-0 [000] d.h. 0.000001: irq_handler_entry: irq=5 name=a<b&\"c\"\n"
                    "  <idle>-0 [000] d.h. 0.000002: irq_handler_exit: irq=5 ret=handled\n";
    std::string svg = render_svg(layout(t, {}));
    EXPECT_NE(svg.find(">irq 5 a&lt;b&amp;&quot;c&quot;</text>"), std::string::npos);
    EXPECT_EQ(svg.find("a<b"), std::string::npos);
    EXPECT_EQ(svg, render_svg(layout(t, {})));
}

TEST(TracePlot, AtomicWriteLeavesNoPartialFile) {
    loader_test::TempDir dir;
    std::string path = dir.path("out.svg");
    ASSERT_FALSE(write_file_atomically(path, "one").is_error());
    ASSERT_FALSE(write_file_atomically(path, "two").is_error());
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(text, "two");
    // Nothing else is left in the directory.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path("")))
        ++files;
    EXPECT_EQ(files, 1u);

    auto bad = write_file_atomically(dir.path("missing/out.svg"), "x");
    ASSERT_TRUE(bad.is_error());
    EXPECT_EQ(bad.error().message,
              dir.path("missing/out.svg") + ": cannot write: No such file or directory");
}

TEST(TracePlot, MainStatuses) {
    loader_test::TempDir dir;
    std::string trace = dir.write("t.txt", std::string(kTrace));
    std::string svg = dir.path("t.svg");
    auto run = [](std::vector<std::string> args, std::string& err) {
        std::ostringstream out, e;
        int status = trace_plot_main(args, out, e);
        err = e.str();
        return status;
    };
    std::string err;
    EXPECT_EQ(run({trace, "-o", svg}, err), 0) << err;
    EXPECT_TRUE(std::filesystem::exists(svg));
    EXPECT_EQ(run({dir.path("none.txt"), "-o", svg}, err), 2);
    EXPECT_EQ(err, "piemu trace plot: " + dir.path("none.txt") + ": cannot open\n");
    std::string bad = dir.write("bad.txt", std::string(kTrace) + "garbage\n");
    EXPECT_EQ(run({bad, "-o", svg}, err), 2);
    EXPECT_EQ(err, "piemu trace plot: " + bad +
                       ":13: expected 'COMM-PID [CPU] FLAGS SECS.USECS: EVENT'\n");
    std::string fields = dir.write(
        "fields.txt", std::string(kTrace) + "  a-1 [000] .... 0.002000: softirq_exit: x\n");
    EXPECT_EQ(run({fields, "-o", svg}, err), 2);
    EXPECT_EQ(err, "piemu trace plot: " + fields +
                       ":13: softirq_exit: expected 'vec=N [action=NAME]', got 'x'\n");
    EXPECT_EQ(run({trace, "-o", svg, "--from", "1ms", "--to", "0.5ms"}, err), 2);
    EXPECT_EQ(err, "piemu trace plot: --from 0.001000 s is not before --to 0.000500 s\n");
    EXPECT_EQ(run({trace, "-o", svg, "--width", "wide"}, err), 2);
    EXPECT_EQ(err, "piemu trace plot: --width needs a number of pixels, not 'wide'\n");
    EXPECT_EQ(run({trace, "-o", svg, "--from", "soon"}, err), 2);
    EXPECT_EQ(run({trace, "--bogus", "-o", svg}, err), 2);
    EXPECT_EQ(run({trace}, err), 2); // no -o
    EXPECT_EQ(run({trace, "-o"}, err), 2);
}
