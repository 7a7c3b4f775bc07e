#pragma once
// What the S3 client reads of the XML S3 answers with: an error's <Code>
// and <Message>, and a ListObjectsV2 page. No XML library is available to
// the node, and these documents are flat and known, so a small scanner
// finds the elements by name: linear in the input, which the client has
// already bounded (an error body, a list page of at most 1 MiB).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatnode {

struct s3_error_text {
  std::string code;    ///< e.g. "NoSuchKey", "SignatureDoesNotMatch"; empty: none found
  std::string message; ///< S3's explanation
};

struct s3_listed_object {
  std::string key;
  std::uint64_t size = 0;
  std::string last_modified; ///< as S3 says it: "2026-12-07T01:02:03.000Z"
  std::string etag;
};

struct s3_listing {
  std::vector<s3_listed_object> objects;
  bool truncated = false;
  std::string next_continuation_token; ///< empty on the last page
};

/// The <Code> and <Message> of an S3 error document.
s3_error_text parse_s3_error(std::string_view xml);
/// A ListBucketResult (ListObjectsV2); entries lacking a <Key> are skipped.
s3_listing parse_s3_listing(std::string_view xml);
/// The text with XML's character references replaced (&amp; &lt; &gt;
/// &quot; &apos; &#NN; &#xNN;); an unknown one is kept as it is.
std::string xml_unescape(std::string_view text);
/// Seconds since the epoch of an S3 time ("2026-12-07T01:02:03.000Z"); none when it is not one.
std::optional<std::int64_t> s3_time_seconds(std::string_view text);

} // namespace chatnode
