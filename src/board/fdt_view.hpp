// Fdt: thin read-only helpers over libfdt, shared by the board builder and the DT
// address translation. Host-side setup only, for a DTB that passed fdt_check_full().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <libfdt.h>

namespace piemu {

/// Thin helpers over libfdt for a DTB that passed fdt_check_full().
struct Fdt {
    const void* blob;

    std::string path(int node) const {
        char buf[512];
        if (fdt_get_path(blob, node, buf, sizeof buf) < 0)
            return "<node>";
        return buf;
    }
    int parent(int node) const { return fdt_parent_offset(blob, node); }
    bool has(int node, const char* prop) const {
        return fdt_getprop(blob, node, prop, nullptr) != nullptr;
    }
    /// A property as cells; null when absent. `count` receives len / 4.
    const fdt32_t* cells(int node, const char* prop, size_t& count, int& len) const {
        auto* p = static_cast<const fdt32_t*>(fdt_getprop(blob, node, prop, &len));
        count = p ? size_t(len) / 4 : 0;
        return p;
    }
    std::optional<uint32_t> u32(int node, const char* prop) const {
        int len = 0;
        auto* p = static_cast<const fdt32_t*>(fdt_getprop(blob, node, prop, &len));
        if (!p || len != 4)
            return std::nullopt;
        return fdt32_to_cpu(*p);
    }
    /// A string-list property (e.g. `compatible`); empty when absent.
    std::vector<std::string> strings(int node, const char* prop) const {
        std::vector<std::string> out;
        int len = 0;
        auto* p = static_cast<const char*>(fdt_getprop(blob, node, prop, &len));
        for (int i = 0; p && i < len;) {
            size_t n = strnlen(p + i, size_t(len - i));
            out.emplace_back(p + i, n);
            i += int(n) + 1;
        }
        return out;
    }
    std::string string(int node, const char* prop) const {
        auto s = strings(node, prop);
        return s.empty() ? std::string() : s.front();
    }
};

} // namespace piemu
