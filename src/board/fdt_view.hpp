// Fdt: thin read-only helpers over libfdt, shared by the board builder and the DT
// address translation. Host-side setup only, for a DTB that passed
// fdt_check_full_bounded().
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <libfdt.h>

namespace piemu {

/// fdt_check_full(), safe for any input. libfdt 1.6.1's (Debian 12) loops for ever
/// on a property whose length brings the next tag back to the property itself
/// (fdt_next_tag() then answers the same offset again): found by fuzz_dtb with a
/// 5.5 KiB blob. The walk here stops on that first, with FDT_ERR_BADSTRUCTURE.
inline int fdt_check_full_bounded(const void* blob, size_t size) {
    if (size < sizeof(fdt_header))
        return -FDT_ERR_TRUNCATED;
    if (int err = fdt_check_header(blob))
        return err;
    if (fdt_totalsize(blob) > size)
        return -FDT_ERR_TRUNCATED; // the walk must stay inside the buffer
    for (int offset = 0, next = 0;; offset = next) {
        uint32_t tag = fdt_next_tag(blob, offset, &next);
        if (next < 0 || tag == FDT_END)
            break; // fdt_check_full() reports what is wrong, if anything
        if (next <= offset)
            return -FDT_ERR_BADSTRUCTURE;
    }
    return fdt_check_full(blob, size);
}

/// Thin helpers over libfdt for a DTB that passed fdt_check_full_bounded().
struct Fdt {
    const void* blob;

    explicit Fdt(const void* b) : blob(b) {}

    std::string path(int node) const {
        if (const Node* n = find(node))
            return n->path;
        char buf[512];
        if (fdt_get_path(blob, node, buf, sizeof buf) < 0)
            return "<node>";
        return buf;
    }
    int parent(int node) const {
        if (const Node* n = find(node))
            return n->parent;
        return fdt_parent_offset(blob, node);
    }
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

private:
    // libfdt finds a node's parent and path by walking the tree from its start, and
    // the board builder asks for them for every node and every address translation
    // (which walks up the buses): a fifth of piemu's start-up went there. One walk
    // here lists every node's parent and path, by offset.
    struct Node {
        int offset, parent;
        std::string path;
    };
    mutable std::vector<Node> nodes_;
    const Node* find(int offset) const {
        if (nodes_.empty())
            index();
        auto it = std::lower_bound(nodes_.begin(), nodes_.end(), offset,
                                   [](const Node& n, int off) { return n.offset < off; });
        return it != nodes_.end() && it->offset == offset ? &*it : nullptr;
    }
    void index() const {
        std::vector<size_t> stack; // nodes_ index of the open node at each depth
        int depth = 0;
        for (int off = 0; off >= 0; off = fdt_next_node(blob, off, &depth)) {
            if (depth < 0)
                break;
            stack.resize(size_t(depth));
            Node n{off, -FDT_ERR_NOTFOUND, "/"};
            if (depth > 0) {
                const Node& up = nodes_[stack.back()];
                int len = 0;
                const char* name = fdt_get_name(blob, off, &len);
                n.parent = up.offset;
                n.path = (up.path == "/" ? "" : up.path) + "/" + std::string(name, size_t(len));
            }
            stack.push_back(nodes_.size());
            nodes_.push_back(std::move(n));
        }
    }
};

} // namespace piemu
