// `piemu step`'s session: --break, --steps, --until, then commands from --script, the
// interactive prompt (libedit: line editing and history) or stdin.
#include "cli/step_session.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <utility>

#include <editline/readline.h>
#include <fmt/format.h>
#include <unistd.h>

#include "debug/stepper.hpp"
#include "piemu/exit_status.hpp"
#include "piemu/machine.hpp"

namespace piemu::cli {

namespace {
volatile std::sig_atomic_t g_break = 0;
void on_sigint(int) {
    g_break = 1;
}
} // namespace

int step_session(Machine& machine, const StepOptions& o) {
    debug::Stepper st(machine, stdout);
    for (const auto& b : o.breaks) {
        if (auto err = st.add_break(b)) {
            std::fprintf(stderr, "piemu: --break %s\n", err->c_str());
            return kExitBadInput;
        }
    }
    std::ifstream script;
    if (!o.script.empty()) {
        script.open(o.script);
        if (!script) {
            std::fprintf(stderr, "piemu: --script %s: cannot open for reading\n", o.script.c_str());
            return kExitBadInput;
        }
    }
    const bool interactive = o.script.empty() && isatty(STDIN_FILENO);
    if (interactive) {
        // Ctrl-C stops what runs (continue, until) and comes back to the prompt.
        struct sigaction sa {};
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        st.set_interrupt_check([] { return std::exchange(g_break, 0) != 0; });
    }
    bool go = true;
    if (!o.breaks.empty())
        go = st.command("continue");
    if (go && o.steps)
        go = st.command(fmt::format("stepi {}", *o.steps));
    if (go && !o.until.empty())
        go = st.command("until " + o.until);
    std::fflush(stdout);
    while (go && !st.ended()) {
        std::string line;
        if (interactive) {
            char* text = readline("(piemu) ");
            if (!text)
                break;
            line = text;
            std::free(text);
            if (!line.empty())
                add_history(line.c_str());
            st.set_echo(false);
        } else if (!std::getline(o.script.empty() ? std::cin : script, line)) {
            break;
        }
        go = st.command(line);
        std::fflush(stdout);
    }
    std::fflush(stdout);
    return st.exit_status();
}

} // namespace piemu::cli
