// Device-tree address translation, as Linux's of_address code does it: a node's first
// `reg` entry, read in its parent's #address-cells/#size-cells, translated through every
// ancestor's `ranges` up to the root. An empty `ranges` is the identity; a bus without
// `ranges` cannot be translated (an error). Host-side setup, for the board builder.
//
// Errors are one line: "<node path>: <problem>".
#pragma once

#include <string>
#include <vector>

#include "board/board_builder.hpp"
#include "board/fdt_view.hpp"
#include "piemu/error.hpp"

namespace piemu {

/// The node's first `reg` entry as a physical address range, translated up to the root;
/// `path` names the node for errors. Fails on anything beyond 32-bit physical addresses.
ErrorOr<AddressRange> translate_reg(const Fdt& f, int node, const std::string& path);

/// Every `reg` entry of the node, translated as translate_reg() translates the first;
/// the list stops before the first later entry that fails (the first must translate).
ErrorOr<std::vector<AddressRange>> translate_regs(const Fdt& f, int node, const std::string& path);

/// A bus's `ranges` as table notes: "ranges 0x7e000000-0x7effffff -> 0x3f000000".
ErrorOr<std::vector<std::string>> describe_ranges(const Fdt& f, int bus);

/// "0x3f201000-0x3f201fff", or the base alone for an empty range.
std::string format_range(const AddressRange& r);

} // namespace piemu
