// What the S3 client reads of S3's XML: error documents as AWS S3 and
// MinIO send them, and ListObjectsV2 pages, keys with XML's character
// references among them.

#include "node/files/s3_xml.hpp"

#include <boost/test/unit_test.hpp>

using namespace chatnode;

BOOST_AUTO_TEST_SUITE(s3_xml)

BOOST_AUTO_TEST_CASE(an_error_document) {
  auto text = parse_s3_error(
    R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key &amp; signing method.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
  BOOST_TEST(text.code == "SignatureDoesNotMatch");
  BOOST_TEST(
    text.message ==
    "The request signature we calculated does not match the signature you provided. Check your key & "
    "signing method.");
  BOOST_TEST(parse_s3_error("<html>Bad Gateway</html>").code.empty());
  BOOST_TEST(parse_s3_error("<Error><Code>NoSuchKey").code.empty()); // cut short
}

BOOST_AUTO_TEST_CASE(a_listing_page) {
  auto page = parse_s3_listing(
    R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>files</Name><Prefix>ab/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<Contents><Key>ab/one &amp; two</Key><LastModified>2026-12-07T01:02:03.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1048576</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>ab/&#xE9;t&#233;</Key><LastModified>2026-12-07T01:02:04.000Z</LastModified><Size>0</Size></Contents>
<Contents><LastModified>no key</LastModified></Contents>
<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>)");
  BOOST_TEST(page.truncated);
  BOOST_TEST(page.next_continuation_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  BOOST_REQUIRE(page.objects.size() == 2u);
  BOOST_TEST(page.objects[0].key == "ab/one & two");
  BOOST_TEST(page.objects[0].size == 1048576u);
  BOOST_TEST(page.objects[0].last_modified == "2026-12-07T01:02:03.000Z");
  BOOST_TEST(page.objects[0].etag == "\"9b2cf535f27731c974343645a3985328\"");
  BOOST_TEST(page.objects[1].key == "ab/été");
  BOOST_TEST(page.objects[1].size == 0u);
}

BOOST_AUTO_TEST_CASE(the_last_page) {
  auto page = parse_s3_listing("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  BOOST_TEST(!page.truncated);
  BOOST_TEST(page.next_continuation_token.empty());
  BOOST_TEST(page.objects.empty());
}

BOOST_AUTO_TEST_CASE(references_unknown_or_broken_are_kept) {
  BOOST_TEST(xml_unescape("a &lt;b&gt; &apos;c&apos; &#38; &#x26;") == "a <b> 'c' & &");
  BOOST_TEST(xml_unescape("&nbsp; &#xZZ; & ;") == "&nbsp; &#xZZ; & ;");
}

BOOST_AUTO_TEST_CASE(s3_times_as_seconds) {
  BOOST_TEST(*s3_time_seconds("1970-01-01T00:00:00.000Z") == 0);
  BOOST_TEST(*s3_time_seconds("2026-12-07T01:02:03.000Z") == 1796605323);
  BOOST_TEST(*s3_time_seconds("2024-02-29T23:59:59Z") == 1709251199);
  BOOST_TEST(!s3_time_seconds("2026-13-07T01:02:03.000Z"));
  BOOST_TEST(!s3_time_seconds("2026-12-07 01:02:03"));
  BOOST_TEST(!s3_time_seconds("yesterday"));
}

BOOST_AUTO_TEST_SUITE_END()
