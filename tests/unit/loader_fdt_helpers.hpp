// Test helper: device trees for the Linux boot tests, made and read back with libfdt.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <libfdt.h>

#include "piemu/bus.hpp"
#include "piemu/loader.hpp"

namespace loader_test {

/// A small DTB: / with #address-cells, a /soc node, and optionally a /chosen with
/// `bootargs` and stale initrd properties.
inline std::vector<uint8_t> make_dtb(bool with_chosen) {
    std::vector<uint8_t> buf(4096);
    void* fdt = buf.data();
    EXPECT_EQ(fdt_create_empty_tree(fdt, int(buf.size())), 0);
    EXPECT_EQ(fdt_setprop_u32(fdt, 0, "#address-cells", 1), 0);
    int soc = fdt_add_subnode(fdt, 0, "soc");
    EXPECT_GE(soc, 0);
    EXPECT_EQ(fdt_setprop_string(fdt, soc, "compatible", "simple-bus"), 0);
    if (with_chosen) {
        int chosen = fdt_add_subnode(fdt, 0, "chosen");
        EXPECT_GE(chosen, 0);
        EXPECT_EQ(fdt_setprop_string(fdt, chosen, "bootargs", "from the dtb"), 0);
        EXPECT_EQ(fdt_setprop_u32(fdt, chosen, "linux,initrd-start", 0x1000), 0);
        EXPECT_EQ(fdt_setprop_u32(fdt, chosen, "linux,initrd-end", 0x2000), 0);
    }
    EXPECT_EQ(fdt_pack(fdt), 0);
    buf.resize(fdt_totalsize(fdt));
    return buf;
}

/// Boot parameters; LinuxBootParams has no member initializers, so name every field.
inline piemu::LinuxBootParams boot(std::string kernel, std::string dtb,
                                   std::optional<std::string> initrd = {},
                                   std::optional<std::string> append = {}) {
    return {std::move(kernel), std::move(dtb), std::move(initrd), std::move(append)};
}

/// The DTB as the guest will find it at `addr`, checked to be a valid tree.
inline std::vector<uint8_t> guest_dtb(const piemu::Bus& bus, uint32_t addr) {
    std::vector<uint8_t> hdr(sizeof(fdt_header));
    EXPECT_TRUE(bus.read_phys(addr, hdr));
    std::vector<uint8_t> dtb(fdt_totalsize(hdr.data()));
    EXPECT_TRUE(bus.read_phys(addr, dtb));
    EXPECT_EQ(fdt_check_full(dtb.data(), dtb.size()), 0);
    return dtb;
}

/// A /chosen string property, or nullopt when it (or /chosen) is absent.
inline std::optional<std::string> chosen_string(const std::vector<uint8_t>& dtb, const char* prop) {
    int node = fdt_path_offset(dtb.data(), "/chosen");
    if (node < 0)
        return std::nullopt;
    int len = 0;
    auto* v = static_cast<const char*>(fdt_getprop(dtb.data(), node, prop, &len));
    return v ? std::optional<std::string>(std::string(v, strnlen(v, size_t(len)))) : std::nullopt;
}

/// A one-cell /chosen property, or nullopt when it is absent or not one cell.
inline std::optional<uint32_t> chosen_u32(const std::vector<uint8_t>& dtb, const char* prop) {
    int node = fdt_path_offset(dtb.data(), "/chosen");
    int len = 0;
    auto* v =
        node < 0 ? nullptr : static_cast<const fdt32_t*>(fdt_getprop(dtb.data(), node, prop, &len));
    if (!v || len != 4)
        return std::nullopt;
    return fdt32_to_cpu(*v);
}

} // namespace loader_test
