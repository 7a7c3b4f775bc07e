// Where the S3 client sends requests: the endpoint's URL read, and an
// object addressed path-style and virtual-hosted, its key encoded in the
// target as the signature encodes it.

#include "node/files/s3_endpoint.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(s3_endpoint_suite)

BOOST_AUTO_TEST_CASE(endpoints_with_and_without_a_port) {
  auto local = parse_s3_endpoint("http://127.0.0.1:9000");
  BOOST_REQUIRE(local);
  BOOST_TEST(!local->tls);
  BOOST_TEST(local->host == "127.0.0.1");
  BOOST_TEST(local->port == "9000");
  BOOST_TEST(local->host_header == "127.0.0.1:9000");

  auto aws = parse_s3_endpoint("https://s3.eu-west-1.amazonaws.com/");
  BOOST_REQUIRE(aws);
  BOOST_TEST(aws->tls);
  BOOST_TEST(aws->port == "443");
  BOOST_TEST(aws->host_header == "s3.eu-west-1.amazonaws.com");

  auto v6 = parse_s3_endpoint("http://[::1]:9000");
  BOOST_REQUIRE(v6);
  BOOST_TEST(v6->host == "::1");
  BOOST_TEST(v6->host_header == "[::1]:9000");

  BOOST_TEST(parse_s3_endpoint("https://s3.example:443")->host_header == "s3.example");
}

BOOST_AUTO_TEST_CASE(what_is_not_an_endpoint) {
  for (auto url : {"", "ftp://host", "http://", "http://host/bucket", "http://user@host", "http://host:x",
                   "http://host:70000", "http://[::1"})
    BOOST_TEST(!parse_s3_endpoint(url), url);
}

BOOST_AUTO_TEST_CASE(path_style_and_virtual_hosted) {
  auto endpoint = *parse_s3_endpoint("http://minio.local:9000");
  auto path = address_s3_object(endpoint, "files", true, "ab/a b+c&é", {});
  BOOST_TEST(path.host_header == "minio.local:9000");
  BOOST_TEST(path.connect_host == "minio.local");
  BOOST_TEST(path.path == "/files/ab/a b+c&é");
  BOOST_TEST(path.target == "/files/ab/a%20b%2Bc%26%C3%A9");

  auto hosted = address_s3_object(endpoint, "files", false, "ab/id", {});
  BOOST_TEST(hosted.host_header == "files.minio.local:9000");
  BOOST_TEST(hosted.connect_host == "files.minio.local");
  BOOST_TEST(hosted.target == "/ab/id");
}

BOOST_AUTO_TEST_CASE(a_listing_query_sorted_and_encoded) {
  auto endpoint = *parse_s3_endpoint("http://127.0.0.1:4568");
  auto list = address_s3_object(endpoint, "files", true, "",
                                {{"prefix", "a b/"}, {"list-type", "2"}, {"continuation-token", "x+y="}});
  BOOST_TEST(list.path == "/files");
  BOOST_TEST(list.target == "/files?continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2F");
}

BOOST_AUTO_TEST_SUITE_END()
