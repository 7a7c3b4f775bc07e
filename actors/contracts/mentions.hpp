#pragma once
// (1.2) The names a message's text mentions, as clients find them (the
// page's mentionsIn): `@name` at the start or after a space or `(`, the name
// up to a space, `@` or punctuation that ends a sentence, 1 to 32
// characters. Who a thread message mentions follows the thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace chatnode {

/// Names a thread message makes follow its thread, at most.
inline constexpr std::size_t max_mentions_followed = 10;
/// Threads a `threads` answer lists, at most.
inline constexpr std::size_t max_threads_listed = 100;

/// The first `at_most` distinct names `text` mentions, in the order it does.
std::vector<std::string> mentioned_names(std::string_view text, std::size_t at_most);

} // namespace chatnode
