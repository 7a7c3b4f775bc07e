#include "actors/stats.hpp"

namespace chatnode {

node_stats& stats() {
  static node_stats instance;
  return instance;
}

} // namespace chatnode
