// The event table as data (names, fields, formats), the string table, and the
// `--events` lists.
#include <algorithm>
#include <utility>

#include "piemu/trace.hpp"

namespace piemu::trace {

namespace {

// FIELD(t, n) becomes " t n;" so that `fields` reads "int32_t irq; StrId name;".
#define FIELD(type, name) " " #type " " #name ";"
#define PIEMU_TRACE_EVENT(subsystem, name, fields, format, ...)                                    \
    EventInfo{#subsystem, #name, std::string_view(fields).substr(1), format, #__VA_ARGS__},
constexpr std::array<EventInfo, kEventCount> kEvents = {{
#include "trace/events.def"
}};
#undef PIEMU_TRACE_EVENT
#undef FIELD

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool is_subsystem(std::string_view s) {
    return std::any_of(kEvents.begin(), kEvents.end(),
                       [&](const EventInfo& e) { return e.subsystem == s; });
}

} // namespace

const EventInfo& event_info(EventId id) {
    return kEvents.at(static_cast<std::size_t>(id));
}

std::optional<EventId> find_event(std::string_view name) {
    for (std::size_t i = 0; i < kEvents.size(); ++i)
        if (kEvents[i].name == name)
            return static_cast<EventId>(i);
    return std::nullopt;
}

StringTable::StringTable() {
    strings_.emplace_back();
    ids_.emplace(strings_.back(), 0);
}

StringTable::StringTable(const StringTable& other) : strings_(other.strings_) {
    for (std::size_t i = 0; i < strings_.size(); ++i)
        ids_.emplace(strings_[i], static_cast<StrId>(i));
}

StringTable& StringTable::operator=(const StringTable& other) {
    if (this != &other) {
        StringTable copy(other);
        *this = std::move(copy);
    }
    return *this;
}

StrId StringTable::intern(std::string_view s) {
    if (auto it = ids_.find(s); it != ids_.end())
        return it->second;
    auto id = static_cast<StrId>(strings_.size());
    strings_.emplace_back(s);
    ids_.emplace(strings_.back(), id);
    return id;
}

EventFilter EventFilter::all() {
    EventFilter f;
    f.known_.set();
    f.everything_ = true;
    return f;
}

EventFilter EventFilter::defaults() {
    EventFilter f = all();
    f.everything_ = false;
    f.set(EventId::mmio, false);
    f.set(EventId::function, false);
    return f;
}

ErrorOr<EventFilter> EventFilter::parse(std::string_view list, bool allow_unknown) {
    EventFilter f;
    while (!list.empty()) {
        std::size_t comma = list.find(',');
        std::string_view item = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (item.empty())
            continue;
        if (item == "*" || item == "all" || item == "*:*") {
            f = all();
            continue;
        }
        std::size_t colon = item.find(':');
        std::string_view sys = colon == std::string_view::npos ? item : item.substr(0, colon);
        std::string_view name = colon == std::string_view::npos ? "*" : item.substr(colon + 1);
        if (colon == std::string_view::npos && !is_subsystem(item)) {
            sys = "";
            name = item;
        }
        if (!sys.empty() && !is_subsystem(sys))
            return Error{"unknown trace subsystem '" + std::string(sys) + "' in '" +
                         std::string(item) + "'"};
        bool found = false;
        for (std::size_t i = 0; i < kEvents.size(); ++i) {
            bool sys_ok = sys.empty() || kEvents[i].subsystem == sys;
            if (sys_ok && (name == "*" || kEvents[i].name == name)) {
                f.known_.set(i);
                found = true;
            }
        }
        if (found)
            continue;
        if (!allow_unknown)
            return Error{"unknown trace event '" + std::string(item) + "'"};
        f.unknown_.emplace_back(name);
    }
    return f;
}

bool EventFilter::matches(std::string_view event_name) const {
    if (auto id = find_event(event_name))
        return matches(*id);
    return everything_ || std::find(unknown_.begin(), unknown_.end(), event_name) != unknown_.end();
}

} // namespace piemu::trace
