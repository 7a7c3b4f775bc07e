#define BOOST_TEST_MODULE chatnode unit tests
#include <boost/test/unit_test.hpp>
