// Fuzz target: the ftrace text reader, `piemu trace diff` and `piemu trace plot`'s
// layout and SVG (src/trace/reader.cpp, diff.cpp, plot_*.cpp). The input is two
// trace texts separated by the first NUL byte (or one text compared with itself);
// the first bytes also choose diff options and the plot's width. A text either
// parses or fails with "LINE: reason"; a text always equals itself; a parsed text
// plots or fails with "line N: reason".
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "fuzz_input.hpp"
#include "piemu/trace.hpp"
#include "trace/plot.hpp"

using namespace piemu;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    uint8_t flags = in.u8();
    std::string_view rest = in.bytes(size);
    size_t nul = rest.find('\0');
    std::string_view a = rest.substr(0, nul);
    std::string_view b = nul == std::string_view::npos ? a : rest.substr(nul + 1);

    auto ta = trace::read_trace(a);
    auto tb = trace::read_trace(b);
    for (auto* t : {&ta, &tb})
        if (t->is_error()) {
            const auto& m = t->error().message;
            FUZZ_CHECK(!m.empty() && m.find('\n') == std::string::npos);
        }
    if (ta.is_error() || tb.is_error())
        return 0;

    trace::DiffOptions options;
    options.ignore_timestamps = flags & 1;
    options.context = flags >> 4;
    if (flags & 2) {
        auto filter = trace::EventFilter::parse(flags & 4 ? "irq,piemu:*" : "sched", true);
        FUZZ_CHECK(!filter.is_error());
        options.events = filter.release_value();
    }
    // `piemu trace plot`: a one-line error naming a line, or a whole SVG document.
    auto layout = trace::layout_plot(ta.value(), {.width = 400u + (flags & 0xf0u) * 8u});
    if (layout.is_error()) {
        const auto& m = layout.error().message;
        FUZZ_CHECK(m.starts_with("line ") && m.find('\n') == std::string::npos);
    } else {
        std::string svg = trace::render_svg(layout.value());
        FUZZ_CHECK(svg.starts_with("<?xml") && svg.ends_with("</svg>\n"));
        FUZZ_CHECK(layout.value().ticks.size() <= 1000);
    }

    auto self = trace::diff_traces(ta.value(), ta.value(), options);
    FUZZ_CHECK(self.equal);
    FUZZ_CHECK(trace::format_diff(self, "a", "a", options.context).empty());
    auto result = trace::diff_traces(ta.value(), tb.value(), options);
    std::string report = trace::format_diff(result, "a", "b", options.context);
    FUZZ_CHECK(result.equal == report.empty());
    return 0;
}
