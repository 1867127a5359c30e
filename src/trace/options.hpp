// Internal to the `piemu trace` subcommands that read their own arguments (diff.cpp,
// plot_svg.cpp): CLI11 hands them what follows the subcommand's name.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace piemu::trace {

/// The value of `--name VALUE` or `--name=VALUE` at args[i] (advancing i), if it is that
/// option; `missing` is set when it is, but nothing follows.
inline std::optional<std::string> option_value(const std::vector<std::string>& args, std::size_t& i,
                                               std::string_view name, bool& missing) {
    const std::string& a = args[i];
    if (a == name) {
        if (i + 1 >= args.size()) {
            missing = true;
            return std::nullopt;
        }
        return args[++i];
    }
    if (a.size() > name.size() && a.starts_with(name) && a[name.size()] == '=')
        return a.substr(name.size() + 1);
    return std::nullopt;
}

} // namespace piemu::trace
