// `piemu trace diff`: compares the lines of two trace files (not their headers,
// whose counters differ whenever the events do) and reports the first divergence
// with context, in the manner of a unified diff hunk, then the event counts.
#include <algorithm>
#include <charconv>
#include <iostream>
#include <sstream>

#include "piemu/trace.hpp"
#include "trace/options.hpp"

namespace piemu::trace {

namespace {

bool same(const TraceLine& a, const TraceLine& b, bool ignore_timestamps) {
    return a.kind == b.kind && a.comm == b.comm && a.pid == b.pid && a.cpu == b.cpu &&
           a.flags == b.flags &&
           (ignore_timestamps || (a.ts_ns + 500) / 1000 == (b.ts_ns + 500) / 1000) &&
           a.name == b.name && a.text == b.text && a.lost == b.lost;
}

std::vector<const TraceLine*> compared(const Trace& t, const DiffOptions& options) {
    std::vector<const TraceLine*> out;
    for (const TraceLine& l : t.lines) {
        bool is_event = l.kind == TraceLine::Kind::event || l.kind == TraceLine::Kind::function;
        if (!is_event || !options.events || options.events->matches(l.name))
            out.push_back(&l);
    }
    return out;
}

std::string where(std::string_view file, const std::vector<const TraceLine*>& lines,
                  std::size_t i) {
    std::string s(file);
    if (i < lines.size())
        return s + ":" + std::to_string(lines[i]->line_no);
    return s + ":end";
}

void hunk_side(std::ostringstream& out, char sign, const std::vector<const TraceLine*>& lines,
               std::size_t first, unsigned context) {
    if (first >= lines.size()) {
        out << sign << "<end of trace>\n";
        return;
    }
    std::size_t end = std::min(lines.size(), first + 1 + context);
    for (std::size_t i = first; i < end; ++i)
        out << sign << format_line(*lines[i]) << '\n';
}

} // namespace

DiffResult diff_traces(const Trace& expected, const Trace& actual, const DiffOptions& options) {
    DiffResult r;
    r.expected = compared(expected, options);
    r.actual = compared(actual, options);
    std::size_t n = std::min(r.expected.size(), r.actual.size());
    r.first = 0;
    while (r.first < n && same(*r.expected[r.first], *r.actual[r.first], options.ignore_timestamps))
        ++r.first;
    r.equal = r.first == n && r.expected.size() == r.actual.size();
    for (const TraceLine* l : r.expected)
        if (l->kind == TraceLine::Kind::event || l->kind == TraceLine::Kind::function)
            ++r.counts[l->name].first;
    for (const TraceLine* l : r.actual)
        if (l->kind == TraceLine::Kind::event || l->kind == TraceLine::Kind::function)
            ++r.counts[l->name].second;
    return r;
}

std::string format_diff(const DiffResult& r, std::string_view expected_name,
                        std::string_view actual_name, unsigned context) {
    if (r.equal)
        return {};
    std::ostringstream out;
    out << "--- " << expected_name << "\n+++ " << actual_name << "\n";
    out << "@@ first divergence: " << where(expected_name, r.expected, r.first) << ", "
        << where(actual_name, r.actual, r.first) << " @@\n";
    std::size_t from = r.first > context ? r.first - context : 0;
    for (std::size_t i = from; i < r.first; ++i)
        out << ' ' << format_line(*r.expected[i]) << '\n';
    hunk_side(out, '-', r.expected, r.first, context);
    hunk_side(out, '+', r.actual, r.first, context);

    std::size_t width = 5;
    for (const auto& [name, counts] : r.counts)
        width = std::max(width, name.size());
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-*s %10s %10s\n", static_cast<int>(width), "event", "expected",
                  "actual");
    out << "\n" << buf;
    for (const auto& [name, counts] : r.counts) {
        std::snprintf(buf, sizeof buf, "%-*s %10zu %10zu%s\n", static_cast<int>(width),
                      name.c_str(), counts.first, counts.second,
                      counts.first != counts.second ? "  *" : "");
        out << buf;
    }
    return out.str();
}

namespace {

constexpr const char* kUsage =
    "usage: piemu trace diff EXPECTED ACTUAL [--ignore-timestamps] [--events LIST] "
    "[--context N]\n";

} // namespace

int trace_diff_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    DiffOptions options;
    std::vector<std::string> files;
    for (std::size_t i = 0; i < args.size(); ++i) {
        bool missing = false;
        if (args[i] == "-h" || args[i] == "--help") {
            out << kUsage;
            return 0;
        }
        if (args[i] == "--ignore-timestamps") {
            options.ignore_timestamps = true;
        } else if (auto v = option_value(args, i, "--events", missing)) {
            auto filter = EventFilter::parse(*v, /*allow_unknown=*/true);
            if (filter.is_error()) {
                err << "piemu trace diff: " << filter.error().message << "\n";
                return 2;
            }
            options.events = filter.release_value();
        } else if (auto v = option_value(args, i, "--context", missing)) {
            auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), options.context);
            if (ec != std::errc{} || p != v->data() + v->size()) {
                err << "piemu trace diff: --context needs a number, not '" << *v << "'\n";
                return 2;
            }
        } else if (missing) {
            err << "piemu trace diff: " << args[i] << " needs a value\n" << kUsage;
            return 2;
        } else if (args[i].starts_with("-") && args[i] != "-") {
            err << "piemu trace diff: unknown option " << args[i] << "\n" << kUsage;
            return 2;
        } else {
            files.push_back(args[i]);
        }
    }
    if (files.size() != 2) {
        err << kUsage;
        return 2;
    }
    auto expected = read_trace_file(files[0]);
    if (expected.is_error()) {
        err << "piemu trace diff: " << expected.error().message << "\n";
        return 2;
    }
    auto actual = read_trace_file(files[1]);
    if (actual.is_error()) {
        err << "piemu trace diff: " << actual.error().message << "\n";
        return 2;
    }
    DiffResult r = diff_traces(expected.value(), actual.value(), options);
    if (r.equal)
        return 0;
    out << format_diff(r, files[0], files[1], options.context);
    return 1;
}

int trace_diff_main(std::vector<std::string> args) {
    return trace_diff_main(args, std::cout, std::cerr);
}

} // namespace piemu::trace
