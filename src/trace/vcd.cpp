// The VCD writer (vcd.hpp).
#include "trace/vcd.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace piemu::trace {

namespace {
/// Scope and wire names as identifiers: VCD separates tokens by white space, and
/// viewers treat '.', '[' and ':' specially.
std::string identifier(const std::string& s) {
    std::string out;
    for (char c : s)
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
    return out.empty() ? std::string("_") : out;
}
} // namespace

VcdWriter::~VcdWriter() {
    if (out_)
        std::fclose(out_);
}

ErrorOr<void> VcdWriter::open(const std::string& path, const std::string& option) {
    out_ = std::fopen(path.c_str(), "w");
    if (!out_)
        return Error{
            fmt::format("{} {}: cannot open for writing: {}", option, path, std::strerror(errno))};
    return {};
}

std::string VcdWriter::id_code(uint32_t n) {
    std::string s;
    do {
        s += char('!' + n % 94);
        n /= 94;
    } while (n);
    return s;
}

uint32_t VcdWriter::add_wire(const std::string& scope, const std::string& name, bool initial) {
    wires_.push_back({scope, name, initial});
    return uint32_t(wires_.size() - 1);
}

void VcdWriter::begin() {
    if (!out_ || began_)
        return;
    began_ = true;
    std::fputs("$version piemu $end\n$timescale 1ns $end\n$scope module piemu $end\n", out_);
    // Wires grouped by scope, in the order the scopes first appear.
    std::vector<std::string> scopes;
    for (const Wire& w : wires_)
        if (std::find(scopes.begin(), scopes.end(), w.scope) == scopes.end())
            scopes.push_back(w.scope);
    for (const std::string& scope : scopes) {
        std::fprintf(out_, "$scope module %s $end\n", identifier(scope).c_str());
        for (size_t i = 0; i < wires_.size(); ++i)
            if (wires_[i].scope == scope)
                std::fprintf(out_, "$var wire 1 %s %s $end\n", id_code(uint32_t(i)).c_str(),
                             identifier(wires_[i].name).c_str());
        std::fputs("$upscope $end\n", out_);
    }
    std::fputs("$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n", out_);
    for (size_t i = 0; i < wires_.size(); ++i)
        std::fprintf(out_, "%d%s\n", wires_[i].initial ? 1 : 0, id_code(uint32_t(i)).c_str());
    std::fputs("$end\n", out_);
}

void VcdWriter::change(uint32_t index, uint64_t ns, bool level) {
    if (!out_)
        return;
    int n = 0;
    if (ns != last_ns_) {
        n = std::fprintf(out_, "#%llu\n", static_cast<unsigned long long>(ns));
        last_ns_ = ns;
    }
    if ((std::fprintf(out_, "%d%s\n", level ? 1 : 0, id_code(index).c_str()) < 0 || n < 0) &&
        !error_)
        error_ = errno;
}

void VcdWriter::flush() {
    if (!out_)
        return;
    if (std::fflush(out_) == EOF && !error_)
        error_ = errno;
    if (std::ferror(out_) && !error_)
        error_ = EIO; // a write failed whose errno is gone (the header's)
}

} // namespace piemu::trace
