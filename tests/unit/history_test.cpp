#include "actors/embedded_bus/history.hpp"
#include "actors/contracts/mentions.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <ostream>

namespace chatnode {
// For Boost.Test's messages.
std::ostream& operator<<(std::ostream& os, const message_id& id) {
  return os << id.to_string();
}
} // namespace chatnode

using namespace chatnode;

namespace {
std::string text_of(const stored_message& m) {
  return nlohmann::json::parse(*m.frame)["text"].get<std::string>();
}

nlohmann::json json_of(const stored_message& m) {
  return nlohmann::json::parse(*m.frame);
}

/// A message in reply to `reply_to`, in the thread of `thread`.
store_request reply(std::string text, std::optional<message_id> thread,
                    std::optional<message_id> reply_to = {}, std::string user = "u") {
  auto req = message_request("r", std::move(user), std::move(text));
  req.thread = thread;
  req.reply_to = reply_to;
  return req;
}

store_request deletion(message_id target, std::string user = "u") {
  auto req = message_request("r", std::move(user), "");
  req.change = change_kind::remove;
  req.target = target;
  return req;
}

/// A message as the newest history page of `h` shows it now.
nlohmann::json now_of(const room_history& h, message_id id) {
  for (const auto& m : h.page(std::nullopt, 100).messages)
    if (m.id == id)
      return json_of(m);
  return {};
}
} // namespace

BOOST_AUTO_TEST_SUITE(history)

BOOST_AUTO_TEST_CASE(ids_increase_even_when_the_clock_does_not) {
  room_history h{100};
  auto a = h.append("r", "u", "1", "", 1000).message.id;
  auto b = h.append("r", "u", "2", "", 1000).message.id;
  auto c = h.append("r", "u", "3", "", 999).message.id; // clock went back
  auto d = h.append("r", "u", "4", "", 1001).message.id;
  BOOST_TEST(a.to_string() == "1000-0");
  BOOST_TEST(b.to_string() == "1000-1");
  BOOST_TEST(c.to_string() == "1000-2");
  BOOST_TEST(d.to_string() == "1001-0");
}

BOOST_AUTO_TEST_CASE(keeps_the_retention_and_pages_back) {
  room_history h{10};
  for (int i = 0; i < 25; ++i)
    h.append("r", "u", std::to_string(i), "", 1000 + i);
  BOOST_TEST(h.size() == 10u);

  auto newest = h.page(std::nullopt, 4);
  BOOST_REQUIRE(newest.messages.size() == 4u);
  BOOST_TEST(text_of(newest.messages.front()) == "21");
  BOOST_TEST(text_of(newest.messages.back()) == "24");
  BOOST_TEST(newest.more);

  auto older = h.page(newest.messages.front().id, 4);
  BOOST_REQUIRE(older.messages.size() == 4u);
  BOOST_TEST(text_of(older.messages.front()) == "17");
  BOOST_TEST(text_of(older.messages.back()) == "20");
  BOOST_TEST(older.more);

  auto oldest = h.page(older.messages.front().id, 4);
  BOOST_REQUIRE(oldest.messages.size() == 2u); // 15 and 16 are all that is left
  BOOST_TEST(text_of(oldest.messages.front()) == "15");
  BOOST_TEST(!oldest.more);
}

BOOST_AUTO_TEST_CASE(after_returns_exactly_the_newer_messages) {
  room_history h{100};
  std::vector<message_id> ids;
  for (int i = 0; i < 10; ++i)
    ids.push_back(h.append("r", "u", std::to_string(i), "", 5000).message.id);
  auto page = h.after(ids[6]).messages;
  BOOST_REQUIRE(page.messages.size() == 3u);
  BOOST_TEST(text_of(page.messages[0]) == "7");
  BOOST_TEST(text_of(page.messages[2]) == "9");
  BOOST_TEST(page.more);
  BOOST_TEST(h.after(ids[9]).messages.messages.empty());
  BOOST_TEST(h.after(message_id{0, 0}).messages.messages.size() == 10u);
  // An id between two stored ones (e.g. from another room's clock) still works.
  BOOST_TEST(h.after(message_id{4999, 99}).messages.messages.size() == 10u);
}

BOOST_AUTO_TEST_CASE(stored_messages_are_encoded_once_with_id_and_ts) {
  room_history h{10};
  auto stored = h.append("lobby", "alice", "hi", "c1", 1234).message;
  auto event = nlohmann::json::parse(*stored.frame);
  BOOST_TEST(event["type"] == "message");
  BOOST_TEST(event["room"] == "lobby");
  BOOST_TEST(event["id"] == "1234-0");
  BOOST_TEST(event["ts"] == 1234);
  BOOST_TEST(event["user"] == "alice");
  BOOST_TEST(event["cid"] == "c1");
}

BOOST_AUTO_TEST_CASE(a_repeated_cid_is_stored_once_per_user) {
  room_history h{3};
  auto first = h.append("r", "alice", "hello", "c1", 10);
  auto again = h.append("r", "alice", "hello (retry)", "c1", 11);
  BOOST_TEST(!first.duplicate);
  BOOST_TEST(again.duplicate);
  BOOST_TEST(again.message.id == first.message.id);
  BOOST_TEST(text_of(again.message) == "hello");
  BOOST_TEST(h.size() == 1u);
  // Another user may use the same cid.
  BOOST_TEST(!h.append("r", "bob", "hi", "c1", 12).duplicate);
  // Once the message leaves the retention, its cid is forgotten with it.
  h.append("r", "x", "1", "", 13);
  h.append("r", "x", "2", "", 14);
  BOOST_TEST(!h.append("r", "alice", "hello", "c1", 15).duplicate);
}

BOOST_AUTO_TEST_CASE(replies_and_threads_are_stored_and_counted_on_the_root) {
  room_history h{100};
  auto root = h.append("r", "a", "root", "", 100).message.id;
  auto quoted = h.append("r", "b", "other", "", 101).message.id;
  auto first = h.append(reply("one", root, quoted), 110);
  BOOST_REQUIRE(!first.refused);
  auto event = json_of(first.message);
  BOOST_TEST(event["thread"] == root.to_string());
  BOOST_TEST(event["reply_to"] == quoted.to_string());
  // A reply to a message in a thread goes into that thread, the root's.
  auto second = h.append(reply("two", first.message.id), 120);
  BOOST_TEST(json_of(second.message)["thread"] == root.to_string());
  auto now = now_of(h, root);
  BOOST_TEST(now["replies"] == 2);
  BOOST_TEST(now["last_reply"] == 120);
  BOOST_TEST(!now_of(h, quoted).contains("replies"));
  // Thread messages are in the room's order like any other.
  BOOST_TEST(h.page(std::nullopt, 100).messages.size() == 4u);
}

BOOST_AUTO_TEST_CASE(mentions_are_found_as_clients_find_them) {
  auto names = mentioned_names("@ann hi, (@bob) and @cy! mail a@b.c @ann @ @Zoë.", 10);
  BOOST_TEST((names == std::vector<std::string>{"ann", "bob", "cy", "Zoë"}));
  BOOST_TEST(mentioned_names("@a @b @c", 2).size() == 2u);
  BOOST_TEST(mentioned_names("@" + std::string(33, 'x'), 10).empty());
  BOOST_TEST(mentioned_names("@" + std::string(32, 'x'), 10).size() == 1u);
}

BOOST_AUTO_TEST_CASE(threads_are_followed_with_a_read_position_each) {
  room_history h{6};
  auto root = h.append("r", "ann", "root", "", 100).message.id;
  auto b1 = h.append(reply("hi @cy", root, std::nullopt, "bob"), 110).message.id;
  auto followers = [&](const std::string& user) { return h.threads_of(user, 100).threads; };
  BOOST_REQUIRE(followers("ann").size() == 1u);
  BOOST_TEST(!followers("ann")[0].read);
  BOOST_TEST(followers("ann")[0].unread == 1u);
  BOOST_TEST(*followers("bob")[0].read == b1); // his own reply is read
  BOOST_TEST(followers("cy").size() == 1u);
  BOOST_TEST(followers("dan").empty());
  BOOST_TEST(!h.mark_thread_read("dan", root, b1));

  auto c1 = h.append(reply("ok", root, std::nullopt, "cy"), 120).message.id;
  auto moved = h.mark_thread_read("ann", root, message_id{999, 0}); // past the thread: its newest
  BOOST_REQUIRE(moved);
  BOOST_TEST(moved->moved);
  BOOST_TEST(*moved->position.id == c1);
  BOOST_TEST(!h.mark_thread_read("ann", root, b1)->moved); // never back
  h.append(deletion(c1, "cy"), 121);
  BOOST_TEST(followers("bob")[0].unread == 0u); // a deleted reply is not unread
  BOOST_TEST(followers("bob")[0].replies == 1u);

  // The root leaves the retained history: nobody follows its thread.
  for (int i = 0; i < 6; ++i)
    h.append("r", "x", "more", "", 200 + i);
  BOOST_TEST(followers("ann").empty());
  BOOST_TEST(!h.mark_thread_read("ann", root, b1));
}

BOOST_AUTO_TEST_CASE(unknown_or_deleted_targets_are_not_found) {
  room_history h{100};
  auto gone = h.append("r", "u", "x", "", 100).message.id;
  h.append(deletion(gone), 101);
  for (auto req : {reply("a", message_id{5, 5}), reply("a", std::nullopt, message_id{5, 5}), reply("a", gone),
                   reply("a", std::nullopt, gone)}) {
    auto result = h.append(req, 102);
    BOOST_REQUIRE(result.refused);
    BOOST_TEST(to_string(result.refused->code) == "not_found");
  }
  BOOST_TEST(h.size() == 1u);
}

BOOST_AUTO_TEST_CASE(files_are_sent_once_and_leave_with_their_message) {
  room_history h{100};
  auto with_file = message_request("r", "u", "");
  with_file.files = {{"AAAAAAAAAAAAAAAAAAAAAA", "a.png", "image/png", 10, 4, 3, true}};
  auto id = h.append(with_file, 100).message.id;
  BOOST_TEST(now_of(h, id)["files"][0]["url"] == "/files/AAAAAAAAAAAAAAAAAAAAAA/a.png");
  BOOST_TEST((h.files_of(id) == std::vector<std::string>{"AAAAAAAAAAAAAAAAAAAAAA"}));
  auto again = h.append(with_file, 101);
  BOOST_REQUIRE(again.refused);
  BOOST_TEST(to_string(again.refused->code) == "bad_request");
  BOOST_TEST(h.size() == 1u);
  h.append(deletion(id), 102);
  BOOST_TEST(h.files_of(id).empty());
  BOOST_TEST(!now_of(h, id).contains("files"));
}

BOOST_AUTO_TEST_CASE(files_of_messages_past_the_retention_go_when_no_archive_keeps_them) {
  room_history h{2};
  for (int i = 0; i < 3; ++i) {
    auto req = message_request("r", "u", "m");
    req.files = {{std::string(21, 'A') + static_cast<char>('A' + i), "f", "text/plain", 1, 0, 0, false}};
    h.append(req, 100 + i);
  }
  BOOST_TEST((h.take_dropped_files() == std::vector<std::string>{std::string(22, 'A')}));
  BOOST_TEST(h.take_dropped_files().empty()); // told once
}

BOOST_AUTO_TEST_CASE(a_deleted_reply_no_longer_counts) {
  room_history h{100};
  auto root = h.append("r", "a", "root", "", 100).message.id;
  auto one = h.append(reply("one", root), 110).message.id;
  auto two = h.append(reply("two", root), 120).message.id;
  auto del = h.append(deletion(two), 130);
  auto event = json_of(del.message);
  BOOST_TEST(event["thread"] == root.to_string());
  BOOST_TEST(event["replies"] == 1);
  BOOST_TEST(event["last_reply"] == 110);
  BOOST_TEST(now_of(h, root)["replies"] == 1);
  BOOST_TEST(now_of(h, root)["last_reply"] == 110);
  h.append(deletion(one), 140);
  BOOST_TEST(now_of(h, root)["replies"] == 0);
  BOOST_TEST(now_of(h, root)["last_reply"].is_null());
  // A deleted root keeps its thread, and takes no more replies.
  h.append(reply("three", root), 150);
  h.append(deletion(root, "a"), 160);
  BOOST_TEST(now_of(h, root)["deleted"] == true);
  BOOST_TEST(now_of(h, root)["replies"] == 1);
  BOOST_TEST(h.append(reply("four", root), 170).refused.has_value());
  BOOST_TEST(h.thread_page(root, std::nullopt, 10).messages.size() == 3u);
}

BOOST_AUTO_TEST_CASE(thread_pages_go_back_oldest_first) {
  room_history h{100};
  auto root = h.append("r", "a", "root", "", 100).message.id;
  std::vector<message_id> ids;
  for (int i = 0; i < 7; ++i) {
    h.append("r", "b", "between", "", 101 + 2 * i);
    ids.push_back(h.append(reply(std::to_string(i), root), 102 + 2 * i).message.id);
  }
  auto newest = h.thread_page(root, std::nullopt, 3);
  BOOST_REQUIRE(newest.messages.size() == 3u);
  BOOST_TEST(text_of(newest.messages[0]) == "4");
  BOOST_TEST(text_of(newest.messages[2]) == "6");
  BOOST_TEST(newest.more);
  auto older = h.thread_page(root, newest.messages.front().id, 10);
  BOOST_REQUIRE(older.messages.size() == 4u);
  BOOST_TEST(text_of(older.messages[0]) == "0");
  BOOST_TEST(!older.more);
  BOOST_TEST(h.thread_page(ids[0], std::nullopt, 10).messages.empty()); // not a root
}

BOOST_AUTO_TEST_CASE(thread_messages_leave_with_the_retention) {
  room_history h{4};
  h.set_archived(true, 0);
  auto root = h.append("r", "a", "root", "", 100).message.id;
  for (int i = 0; i < 5; ++i)
    h.append(reply(std::to_string(i), root), 110 + i);
  h.mark_archived(message_id{1000, 0});
  // The root and the first reply left; the page says older ones exist (archived).
  auto page = h.thread_page(root, std::nullopt, 10);
  BOOST_REQUIRE(page.messages.size() == 4u);
  BOOST_TEST(text_of(page.messages[0]) == "1");
  BOOST_TEST(page.more);
  // A root no longer retained takes no replies.
  BOOST_TEST(h.append(reply("late", root), 200).refused.has_value());
}

BOOST_AUTO_TEST_SUITE_END()
