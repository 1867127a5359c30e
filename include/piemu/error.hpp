// Host-side error handling: ErrorOr<T> and TRY(), in the manner of SerenityOS's AK.
//
// The genirq layer returns negative errno values as the kernel does; everything that
// reads user input (images, DTBs, command lines, files) returns ErrorOr so that the
// CLI can print one clear line naming the input and the problem.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace piemu {

/// One line for the user: names the input and says what is wrong with it.
struct Error {
    std::string message;
};

template <typename T>
class [[nodiscard]] ErrorOr {
public:
    ErrorOr(T value) : v_(std::move(value)) {}
    ErrorOr(Error error) : v_(std::move(error)) {}

    bool is_error() const { return std::holds_alternative<Error>(v_); }
    const Error& error() const { return std::get<Error>(v_); }
    T& value() { return std::get<T>(v_); }
    const T& value() const { return std::get<T>(v_); }
    T release_value() { return std::move(std::get<T>(v_)); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] ErrorOr<void> {
public:
    ErrorOr() = default;
    ErrorOr(Error error) : error_(std::move(error)), failed_(true) {}

    bool is_error() const { return failed_; }
    const Error& error() const { return error_; }
    void release_value() {}

private:
    Error error_;
    bool failed_ = false;
};

} // namespace piemu

/// Evaluates an ErrorOr expression; returns its error from the enclosing function,
/// or yields its value (GCC/Clang statement expression, as SerenityOS's TRY does).
#define TRY(expr)                                                                                  \
    ({                                                                                             \
        auto _piemu_try = (expr);                                                                  \
        if (_piemu_try.is_error())                                                                 \
            return _piemu_try.error();                                                             \
        _piemu_try.release_value();                                                                \
    })
