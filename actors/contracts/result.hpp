#pragma once
// The one way a step that can fail says so: it returns a value, or the reason
// there is none (a one-line text unless the caller needs more, as a decoded
// frame's error code). std::optional stays for lookups whose absence needs no
// reason (a message id that does not parse, a slot with no master).

#include <string>
#include <variant>

namespace chatnode {

/// A value of T, or an error E. T and E differ.
template <class T, class E = std::string>
using result = std::variant<T, E>;

/// Nothing to return but success, or an error.
template <class E = std::string>
using outcome = result<std::monostate, E>;

template <class T, class E>
bool ok(const std::variant<T, E>& r) {
  return r.index() == 0;
}

template <class T, class E>
const E& error_of(const std::variant<T, E>& r) {
  return std::get<1>(r);
}

} // namespace chatnode
