// AWS Signature Version 4 for S3, against signatures no one here computed:
// the GET example of Amazon's S3 documentation ("Signature Calculations for
// the Authorization Header", examplebucket, Range bytes=0-9), and two that
// botocore 1.43 (the AWS SDK for Python) gave for the same credentials: a
// path-style PUT to a local store, and a listing with temporary credentials.

#include "node/files/s3_signing.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

namespace {

const s3_credentials example{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const std::string empty_sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

} // namespace

BOOST_AUTO_TEST_SUITE(s3_signing)

BOOST_AUTO_TEST_CASE(the_s3_documentations_get_object_example) {
  s3_request request{"GET",
                     "examplebucket.s3.amazonaws.com",
                     "/test.txt",
                     {},
                     {{"Range", "bytes=0-9"}},
                     empty_sha256,
                     "20130524T000000Z",
                     "us-east-1"};
  BOOST_TEST(s3_canonical_request(request, example) ==
             "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
             "x-amz-content-sha256:" +
               empty_sha256 +
               "\nx-amz-date:20130524T000000Z\n\n"
               "host;range;x-amz-content-sha256;x-amz-date\n" +
               empty_sha256);
  auto signature = s3_sign(request, example);
  BOOST_TEST(signature.authorization ==
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
             "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
             "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  BOOST_TEST(signature.security_token.empty());
}

BOOST_AUTO_TEST_CASE(a_path_style_put_to_a_local_store_as_botocore_signs_it) {
  s3_request request{"PUT",
                     "127.0.0.1:4569",
                     "/chatnode-files/ab/AAAAAAAAAAAAAAAAAAAAAA",
                     {{"x-id", "PutObject"}},
                     {{"Content-Type", "image/png"}},
                     sha256_hex("hello world"),
                     "20130524T000000Z",
                     "eu-central-1"};
  BOOST_TEST(request.payload_sha256 == "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  BOOST_TEST(s3_sign(request, example).authorization ==
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/eu-central-1/s3/aws4_request, "
             "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, "
             "Signature=d3866173bfa52061eac6832847484a815f35797b4e1aaf7904c0965bd6681488");
}

BOOST_AUTO_TEST_CASE(a_listing_with_temporary_credentials_as_botocore_signs_it) {
  s3_credentials temporary = example;
  temporary.session_token = "session+token/=";
  s3_request request{"GET",
                     "minio:9000",
                     "/chatnode-files",
                     {{"prefix", "ab/"}, {"list-type", "2"}, {"continuation-token", "a+b="}},
                     {},
                     empty_sha256,
                     "20130524T000000Z",
                     "us-east-1"};
  BOOST_TEST(s3_canonical_request(request, temporary)
               .find("\ncontinuation-token=a%2Bb%3D&list-type=2&prefix=ab%2F\n") != std::string::npos);
  auto signature = s3_sign(request, temporary);
  BOOST_TEST(signature.authorization ==
             "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
             "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, "
             "Signature=8b0eb4d829d2e1816fde75a146dfc4bc8476836bea5ef478816621fd38577673");
  BOOST_TEST(signature.security_token == "session+token/=");
}

BOOST_AUTO_TEST_CASE(paths_and_values_are_encoded_once_and_dates_are_utc) {
  BOOST_TEST(s3_uri_encode("/a b/ü~x.png", true) == "/a%20b/%C3%BC~x.png");
  BOOST_TEST(s3_uri_encode("a/b=c&d", false) == "a%2Fb%3Dc%26d");
  BOOST_TEST(amz_date_of(1369353600) == "20130524T000000Z");
  BOOST_TEST(amz_date_of(0) == "19700101T000000Z");
}

BOOST_AUTO_TEST_SUITE_END()
