// The event reference of docs/trace-events.md, generated from the table; a unit
// test keeps the document equal to it.
#include <sstream>

#include "piemu/trace.hpp"

namespace piemu::trace {

namespace {

/// Markdown code span text with the table's pipes escaped.
std::string code(std::string_view s) {
    std::string out = "`";
    for (char c : s) {
        if (c == '|')
            out += "\\|";
        else
            out += c;
    }
    return out + "`";
}

std::string field_list(std::string_view fields) {
    // "int32_t irq; StrId name;" -> "`int32_t irq`, `StrId name`"
    std::string out;
    while (!fields.empty()) {
        std::size_t semi = fields.find(';');
        std::string_view f = fields.substr(0, semi);
        while (!f.empty() && f.front() == ' ')
            f.remove_prefix(1);
        if (!f.empty())
            out += (out.empty() ? "" : ", ") + code(f);
        fields = semi == std::string_view::npos ? std::string_view{} : fields.substr(semi + 1);
    }
    return out;
}

} // namespace

std::string trace_events_markdown() {
    std::ostringstream out;
    out << "| event | record fields | format | arguments |\n";
    out << "|---|---|---|---|\n";
    for (std::size_t i = 0; i < kEventCount; ++i) {
        const EventInfo& e = event_info(static_cast<EventId>(i));
        out << "| " << code(std::string(e.subsystem) + ":" + std::string(e.name)) << " | "
            << field_list(e.fields) << " | " << code(e.format) << " | " << code(e.args) << " |\n";
    }
    return out.str();
}

} // namespace piemu::trace
