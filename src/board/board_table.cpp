// The board table (`piemu boards --show NAME`): describe_board() formats the rows the
// builder recorded in BuiltBoard::nodes. See board_builder.hpp.
#include "board/board_builder.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "board/dt_address.hpp"

namespace piemu {

std::string describe_board(const BuiltBoard& board) {
    struct Line {
        std::string node, compatible, model, address;
        std::vector<std::string> wiring;
    };
    std::vector<Line> lines;
    lines.push_back({"NODE", "COMPATIBLE", "MODEL", "ADDRESS", {"INTERRUPTS / NOTES"}});
    for (auto& n : board.nodes) {
        Line l;
        l.node = n.label.empty() ? n.path : fmt::format("{} ({})", n.path, n.label);
        l.compatible = n.compatible;
        l.model = n.disabled ? n.model + ", status disabled" : n.model;
        l.address = n.address ? format_range(*n.address) : "-";
        l.wiring = n.wiring;
        lines.push_back(std::move(l));
    }
    size_t w[4] = {0, 0, 0, 0};
    for (auto& l : lines) {
        w[0] = std::max(w[0], l.node.size());
        w[1] = std::max(w[1], l.compatible.size());
        w[2] = std::max(w[2], l.model.size());
        w[3] = std::max(w[3], l.address.size());
    }
    std::string out = board.model.empty() ? std::string("(no model)") : board.model;
    if (!board.compatible.empty())
        out += fmt::format(" ({})", fmt::join(board.compatible, ", "));
    out += "\n\n";
    for (auto& l : lines) {
        std::string head = fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}", l.node, w[0], l.compatible,
                                       w[1], l.model, w[2], l.address, w[3]);
        if (l.wiring.empty()) {
            while (!head.empty() && head.back() == ' ')
                head.pop_back();
            out += head + "\n";
            continue;
        }
        for (size_t i = 0; i < l.wiring.size(); ++i)
            out += (i == 0 ? head : std::string(head.size(), ' ')) + "  " + l.wiring[i] + "\n";
    }
    return out;
}

} // namespace piemu
