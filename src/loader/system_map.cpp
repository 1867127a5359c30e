// System.map (nm's output, as the kernel's build writes it; /proc/kallsyms has the
// same shape) -> symbols for symbolization, each sized up to the next symbol.
#include <algorithm>
#include <cctype>
#include <string_view>

#include "loader/elf_internal.hpp"
#include "loader/internals.hpp"
#include "piemu/loader.hpp"

namespace piemu {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

/// The next whitespace-separated field of `line` from `pos` (empty at the end).
std::string_view next_field(std::string_view line, size_t& pos) {
    while (pos < line.size() && is_space(line[pos]))
        ++pos;
    size_t start = pos;
    while (pos < line.size() && !is_space(line[pos]))
        ++pos;
    return line.substr(start, pos - start);
}

/// An address of 1-16 hex digits; nullopt when it is not one.
std::optional<uint64_t> parse_hex(std::string_view s) {
    if (s.empty() || s.size() > 16)
        return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                            : -1;
        if (d < 0)
            return std::nullopt;
        v = v << 4 | uint64_t(d);
    }
    return v;
}

/// The printable form of a line for an error message (at most 60 characters).
std::string quote(std::string_view line) {
    std::string out;
    for (char c : line.substr(0, 60))
        out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    return "\"" + out + (line.size() > 60 ? "...\"" : "\"");
}

} // namespace

ErrorOr<std::vector<Symbol>> load_system_map(const std::string& path) {
    std::vector<uint8_t> data = TRY(loader::read_file(path));
    std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    std::vector<Symbol> symbols;
    size_t line_no = 0;
    for (size_t at = 0; at < text.size();) {
        size_t end = text.find('\n', at);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(at, end - at);
        at = end + 1;
        ++line_no;
        size_t pos = 0;
        std::string_view f1 = next_field(line, pos);
        if (f1.empty())
            continue; // a blank line
        auto bad = [&](const std::string& why) {
            return loader::file_error(path, "line {}: {}: {}", line_no, why, quote(line));
        };
        // An undefined symbol has no address ("         U name", as nm prints it).
        if (f1 == "U" || f1 == "w" || f1 == "v") {
            if (next_field(line, pos).empty())
                return bad("expected ADDRESS TYPE NAME (nm's format)");
            continue;
        }
        auto addr = parse_hex(f1);
        if (addr && *addr > 0xffffffffu)
            return bad("the address does not fit in 32 bits (a 64-bit kernel's map, or "
                       "Debian's placeholder System.map?)");
        std::string_view type = next_field(line, pos);
        std::string_view name = next_field(line, pos);
        std::string_view module = next_field(line, pos); // /proc/kallsyms: [module]
        if (!addr || type.size() != 1 || !std::isalpha(static_cast<unsigned char>(type[0])) ||
            name.empty() || (!module.empty() && (module.front() != '[' || module.back() != ']')) ||
            !next_field(line, pos).empty())
            return bad("expected ADDRESS TYPE NAME (nm's format)");
        // Absolute values and debugging symbols are not addresses of code or data
        // (scripts/mksysmap leaves them out as well).
        char t = char(std::toupper(static_cast<unsigned char>(type[0])));
        if (t == 'A' || t == 'N' || t == 'U')
            continue;
        symbols.push_back(Symbol{std::string(name), uint32_t(*addr), 0, false});
    }
    if (symbols.empty())
        return loader::file_error(path, "no symbols (expected lines such as "
                                        "\"c0301424 T bcm2836_arm_irqchip_handle_irq\")");
    // Each symbol covers up to the next higher address, as the kernel's kallsyms
    // sizes its symbols for %pS; the last one has no size (a label).
    std::stable_sort(symbols.begin(), symbols.end(),
                     [](const Symbol& a, const Symbol& b) { return a.addr < b.addr; });
    for (size_t i = 0, j = 0; i < symbols.size(); i = j) {
        j = i;
        while (j < symbols.size() && symbols[j].addr == symbols[i].addr)
            ++j;
        uint32_t size = j < symbols.size() ? symbols[j].addr - symbols[i].addr : 0;
        for (size_t k = i; k < j; ++k)
            symbols[k].size = size;
    }
    return symbols;
}

void LoadedImage::add_symbols(const std::vector<Symbol>& more) {
    symbols.insert(symbols.end(), more.begin(), more.end());
    loader::sort_symbols(symbols);
}

} // namespace piemu
