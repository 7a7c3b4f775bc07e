// Boost.URL, compiled here once (its header-only mode): Debian's Boost
// headers carry it, and no separate library needs installing.
#include <boost/url/src.hpp>
