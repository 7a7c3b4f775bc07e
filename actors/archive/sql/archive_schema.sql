-- The archive's schema, run by every node at start in one transaction under
-- an advisory lock, so nodes starting together migrate once. Tables change
-- only by numbered migrations (each applied once, recorded in
-- chatnode_schema); functions are replaced at every start (CREATE OR
-- REPLACE, which callers on other links never see missing), so they always
-- match the node that runs them; one whose result changes is dropped in the
-- migration that changes it. The last statement answers the schema's
-- version: a node older than its database refuses to archive.
--
-- Ids are Redis stream ids "<ms>-<seq>", kept as two bigints (ms, seq) so
-- that row comparisons order them.
BEGIN;
SELECT pg_advisory_xact_lock(4242001717);
CREATE TABLE IF NOT EXISTS chatnode_schema (
  version integer PRIMARY KEY,
  applied timestamptz NOT NULL DEFAULT now()
);

DO $migrate$
DECLARE
  migrated boolean := false;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM chatnode_schema WHERE version = 1) THEN
    -- Per room: the newest entry archived (the high-water mark), the newest
    -- message number seen, and the messages that left the bus before they
    -- could be archived.
    CREATE TABLE archive_rooms (
      room text PRIMARY KEY,
      mark_ms bigint NOT NULL DEFAULT 0,
      mark_seq bigint NOT NULL DEFAULT 0,
      messages bigint NOT NULL DEFAULT 0,
      missed bigint NOT NULL DEFAULT 0,
      retention_days integer,
      updated timestamptz NOT NULL DEFAULT now()
    );
    -- Every message as it now is; `words` is what search matches.
    CREATE TABLE archive_messages (
      room text NOT NULL,
      ms bigint NOT NULL,
      seq bigint NOT NULL,
      number bigint NOT NULL,
      author text NOT NULL,
      body text NOT NULL,
      ts bigint NOT NULL,
      cid text,
      edited bigint,
      deleted boolean NOT NULL DEFAULT false,
      reactions jsonb NOT NULL DEFAULT '[]',
      words tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
      PRIMARY KEY (room, ms, seq)
    );
    CREATE INDEX archive_messages_words ON archive_messages USING gin (words);
    CREATE INDEX archive_messages_author ON archive_messages (author);
    CREATE INDEX archive_messages_ts ON archive_messages (ts);
    -- Every entry of a room's order as it was published (messages, edits,
    -- deletes, reactions, moderation).
    CREATE TABLE archive_events (
      room text NOT NULL,
      ms bigint NOT NULL,
      seq bigint NOT NULL,
      kind text NOT NULL,
      author text,
      event jsonb NOT NULL,
      PRIMARY KEY (room, ms, seq)
    );
    CREATE INDEX archive_events_author ON archive_events (author);
    CREATE INDEX archive_events_ms ON archive_events (ms);
    INSERT INTO chatnode_schema (version) VALUES (1);
    migrated := true;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM chatnode_schema WHERE version = 2) THEN
    -- (1.2) Replies and threads: the message a message quotes ("ms-seq"),
    -- the root of its thread, and on a root its thread's messages not
    -- deleted and the ts of the newest (replies NULL: it has no thread).
    ALTER TABLE archive_messages
      ADD COLUMN reply_to text, ADD COLUMN thread_ms bigint, ADD COLUMN thread_seq bigint,
      ADD COLUMN replies integer, ADD COLUMN last_reply bigint;
    CREATE INDEX archive_messages_thread ON archive_messages (room, thread_ms, thread_seq, ms, seq)
      WHERE thread_ms IS NOT NULL;
    INSERT INTO chatnode_schema (version) VALUES (2);
    migrated := true;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM chatnode_schema WHERE version = 3) THEN
    -- (1.2) Files: a message's files as published (its `files` array), and
    -- their names, which search matches too (words is made again over both;
    -- the view over its columns is made again below).
    DROP VIEW IF EXISTS chatnode_message_rows;
    ALTER TABLE archive_messages ADD COLUMN files jsonb, ADD COLUMN file_names text, DROP COLUMN words;
    ALTER TABLE archive_messages ADD COLUMN words tsvector
      GENERATED ALWAYS AS (to_tsvector('simple', body || ' ' || COALESCE(file_names, ''))) STORED;
    CREATE INDEX archive_messages_words ON archive_messages USING gin (words);
    INSERT INTO chatnode_schema (version) VALUES (3);
    migrated := true;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM chatnode_schema WHERE version = 4) THEN
    -- (1.2) What a message's first link shows ({url, title, description,
    -- site, image}), as its preview event said.
    DROP VIEW IF EXISTS chatnode_message_rows;
    ALTER TABLE archive_messages ADD COLUMN preview jsonb;
    INSERT INTO chatnode_schema (version) VALUES (4);
    migrated := true;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM chatnode_schema WHERE version = 5) THEN
    -- (1.2) A message a bot posted (a named API key, a command's answer),
    -- and its author's shown name (their token's `name` claim).
    DROP VIEW IF EXISTS chatnode_message_rows;
    ALTER TABLE archive_messages ADD COLUMN bot boolean NOT NULL DEFAULT false, ADD COLUMN display text;
    INSERT INTO chatnode_schema (version) VALUES (5);
    migrated := true;
  END IF;
  -- Functions whose result columns grew (versions 2 to 5) are made again
  -- by dropping, only when a migration ran: dropped at every start, a
  -- function being called on another node's link would vanish under it
  -- ("cache lookup failed"). Else CREATE OR REPLACE below keeps each one.
  IF migrated THEN
    DROP FUNCTION IF EXISTS chatnode_page(text, bigint, bigint, integer);
    DROP FUNCTION IF EXISTS chatnode_search(text, text, bigint, bigint, integer);
    DROP FUNCTION IF EXISTS chatnode_thread(text, bigint, bigint, bigint, bigint, integer);
    DROP FUNCTION IF EXISTS chatnode_expire(integer, bigint);
    DROP FUNCTION IF EXISTS chatnode_erase_user(text);
  END IF;
END
$migrate$;

-- Messages as the reading functions answer them: the thread's root as an id.
CREATE OR REPLACE VIEW chatnode_message_rows AS
  SELECT m.*, CASE WHEN m.thread_ms IS NULL THEN NULL ELSE m.thread_ms || '-' || m.thread_seq END AS thread
  FROM archive_messages m;

-- (1.2) A message's files as published, when it has any.
CREATE OR REPLACE FUNCTION chatnode_files(files jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN jsonb_typeof(files) = 'array' AND jsonb_array_length(files) > 0 THEN files END
$fn$;

-- (1.2) What search matches of a message's files: each name as it is and
-- in words ("Q3-report.pdf" also as "Q3 report pdf").
CREATE OR REPLACE FUNCTION chatnode_file_names(files jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
  SELECT string_agg((f->>'name') || ' ' || regexp_replace(f->>'name', '[^[:alnum:]]+', ' ', 'g'), ' ')
  FROM jsonb_array_elements(COALESCE(chatnode_files(files), '[]')) f
$fn$;

-- (1.2) The files a message owns: those it shares, and its preview's image
-- (a copy of its own, `/files/<id>/...`), in the shape of its `files`.
CREATE OR REPLACE FUNCTION chatnode_owned_files(files jsonb, preview jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $fn$
  SELECT COALESCE(chatnode_files(files), '[]') ||
         CASE WHEN preview->>'image' ~ '^/files/[A-Za-z0-9_-]+/'
              THEN jsonb_build_array(jsonb_build_object('file', split_part(preview->>'image', '/', 3)))
              ELSE '[]' END
$fn$;

-- (1.2) The ids of the files of messages, as a JSON array.
CREATE OR REPLACE FUNCTION chatnode_file_ids(lists jsonb[]) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $fn$
  SELECT COALESCE(jsonb_agg(f->'file'), '[]')
  FROM unnest(lists) l, jsonb_array_elements(COALESCE(chatnode_files(l), '[]')) f
$fn$;

-- A thread's message was deleted: its root counts one fewer, and its newest
-- reply is the newest not deleted.
CREATE OR REPLACE FUNCTION chatnode_unreply(p_room text, r_ms bigint, r_seq bigint)
RETURNS void LANGUAGE sql AS $fn$
  UPDATE archive_messages r
  SET replies = GREATEST(COALESCE(r.replies, 1) - 1, 0),
      last_reply = (SELECT max(t.ts) FROM archive_messages t
                    WHERE t.room = p_room AND t.thread_ms = r_ms AND t.thread_seq = r_seq AND NOT t.deleted)
  WHERE r.room = p_room AND r.ms = r_ms AND r.seq = r_seq
$fn$;

-- A reaction added or taken back, on a reactions list [[emoji, [users]], ...]
-- kept in the order they came (an emoji nobody reacts with any more leaves).
CREATE OR REPLACE FUNCTION chatnode_react(list jsonb, emoji text, who text, adding boolean)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $fn$
DECLARE
  out jsonb := '[]';
  pair jsonb;
  users jsonb;
  found boolean := false;
BEGIN
  FOR pair IN SELECT value FROM jsonb_array_elements(list) LOOP
    IF pair->>0 = emoji THEN
      found := true;
      users := pair->1;
      IF adding AND NOT users @> jsonb_build_array(who) THEN
        users := users || jsonb_build_array(who);
      ELSIF NOT adding THEN
        users := COALESCE((SELECT jsonb_agg(u) FROM jsonb_array_elements(users) u WHERE u <> to_jsonb(who)), '[]');
      END IF;
      IF jsonb_array_length(users) > 0 THEN
        out := out || jsonb_build_array(jsonb_build_array(emoji, users));
      END IF;
    ELSE
      out := out || jsonb_build_array(pair);
    END IF;
  END LOOP;
  IF adding AND NOT found THEN
    out := out || jsonb_build_array(jsonb_build_array(emoji, jsonb_build_array(who)));
  END IF;
  RETURN out;
END
$fn$;

-- Archives a batch of one room's entries, in id order: [[ms, seq, number,
-- event], ...] with each entry's event as published. Entries at or below
-- the room's mark are skipped under the room's row lock, so batches that
-- overlap (two nodes, or a retry after a lost answer) write each entry
-- once. A message number more than one past the last one seen means
-- messages left the bus unarchived: they are counted in `missed`.
-- Returns the room's mark, its newest message number, the messages this
-- batch found missed, and the entries it wrote.
CREATE OR REPLACE FUNCTION chatnode_archive(p_room text, p_entries jsonb)
RETURNS TABLE (mark text, messages bigint, missed bigint, written integer) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  r archive_rooms%ROWTYPE;
  missed_now bigint := 0;
  wrote integer := 0;
  e jsonb;
  ev jsonb;
  e_ms bigint;
  e_seq bigint;
  n bigint;
  k text;
  t_ms bigint;
  t_seq bigint;
  th_ms bigint;
  th_seq bigint;
BEGIN
  INSERT INTO archive_rooms (room) VALUES (p_room) ON CONFLICT DO NOTHING;
  SELECT * INTO r FROM archive_rooms WHERE room = p_room FOR UPDATE;
  FOR e IN SELECT value FROM jsonb_array_elements(p_entries) LOOP
    e_ms := (e->>0)::bigint;
    e_seq := (e->>1)::bigint;
    n := (e->>2)::bigint;
    ev := e->3;
    CONTINUE WHEN (e_ms, e_seq) <= (r.mark_ms, r.mark_seq);
    k := ev->>'type';
    IF k = 'message' THEN
      IF n > r.messages + 1 THEN
        missed_now := missed_now + (n - r.messages - 1);
      END IF;
      th_ms := split_part(ev->>'thread', '-', 1)::bigint;
      th_seq := split_part(ev->>'thread', '-', 2)::bigint;
      INSERT INTO archive_messages (room, ms, seq, number, author, body, ts, cid, reply_to, thread_ms, thread_seq,
                                    files, file_names, bot, display)
      VALUES (p_room, e_ms, e_seq, n, ev->>'user', ev->>'text', (ev->>'ts')::bigint, NULLIF(ev->>'cid', ''),
              ev->>'reply_to', th_ms, th_seq, chatnode_files(ev->'files'), chatnode_file_names(ev->'files'),
              COALESCE((ev->>'bot')::boolean, false), ev->>'name')
      ON CONFLICT DO NOTHING;
      IF FOUND AND th_ms IS NOT NULL THEN
        UPDATE archive_messages SET replies = COALESCE(replies, 0) + 1, last_reply = (ev->>'ts')::bigint
        WHERE room = p_room AND ms = th_ms AND seq = th_seq;
      END IF;
    ELSIF k IN ('edit', 'delete', 'reaction', 'preview') THEN
      t_ms := split_part(ev->>'target', '-', 1)::bigint;
      t_seq := split_part(ev->>'target', '-', 2)::bigint;
      IF k = 'edit' THEN
        UPDATE archive_messages SET body = ev->>'text', edited = (ev->>'ts')::bigint
        WHERE room = p_room AND ms = t_ms AND seq = t_seq AND NOT deleted;
      ELSIF k = 'delete' THEN
        UPDATE archive_messages
        SET body = '', edited = NULL, deleted = true, reactions = '[]', files = NULL, file_names = NULL,
            preview = NULL
        WHERE room = p_room AND ms = t_ms AND seq = t_seq AND NOT deleted
        RETURNING thread_ms, thread_seq INTO th_ms, th_seq;
        IF th_ms IS NOT NULL THEN
          PERFORM chatnode_unreply(p_room, th_ms, th_seq);
        END IF;
      ELSIF k = 'preview' THEN
        UPDATE archive_messages
        SET preview = jsonb_strip_nulls(jsonb_build_object('url', ev->'url', 'title', ev->'title',
                                                           'description', ev->'description', 'site', ev->'site',
                                                           'image', ev->'image'))
        WHERE room = p_room AND ms = t_ms AND seq = t_seq AND NOT deleted AND preview IS NULL;
      ELSE
        UPDATE archive_messages
        SET reactions = chatnode_react(reactions, ev->>'emoji', ev->>'user', (ev->>'on')::boolean)
        WHERE room = p_room AND ms = t_ms AND seq = t_seq AND NOT deleted;
      END IF;
    END IF;
    r.messages := GREATEST(r.messages, n);
    INSERT INTO archive_events (room, ms, seq, kind, author, event)
    VALUES (p_room, e_ms, e_seq, k, ev->>'user', ev)
    ON CONFLICT DO NOTHING;
    r.mark_ms := e_ms;
    r.mark_seq := e_seq;
    wrote := wrote + 1;
  END LOOP;
  UPDATE archive_rooms
  SET mark_ms = r.mark_ms, mark_seq = r.mark_seq, messages = r.messages, missed = r.missed + missed_now,
      updated = now()
  WHERE room = p_room;
  RETURN QUERY SELECT r.mark_ms || '-' || r.mark_seq, r.messages, missed_now, wrote;
END
$fn$;

-- A page of a room's archived messages older than (b_ms, b_seq), newest
-- first, each as it now is.
CREATE OR REPLACE FUNCTION chatnode_page(p_room text, b_ms bigint, b_seq bigint, p_limit integer)
RETURNS TABLE (ms bigint, seq bigint, author text, body text, ts bigint, cid text, edited bigint,
               deleted boolean, reactions jsonb, reply_to text, thread text, replies integer, last_reply bigint,
               files jsonb, preview jsonb, bot boolean, display text)
LANGUAGE sql STABLE AS $fn$
  SELECT m.ms, m.seq, m.author, m.body, m.ts, m.cid, m.edited, m.deleted, m.reactions, m.reply_to, m.thread,
         m.replies, m.last_reply, m.files, m.preview, m.bot, m.display
  FROM chatnode_message_rows m
  WHERE m.room = p_room AND (m.ms, m.seq) < (b_ms, b_seq)
  ORDER BY m.ms DESC, m.seq DESC
  LIMIT p_limit
$fn$;

-- A page of a thread's archived messages older than (b_ms, b_seq), newest
-- first, each as it now is.
CREATE OR REPLACE FUNCTION chatnode_thread(p_room text, r_ms bigint, r_seq bigint, b_ms bigint, b_seq bigint,
                                           p_limit integer)
RETURNS TABLE (ms bigint, seq bigint, author text, body text, ts bigint, cid text, edited bigint,
               deleted boolean, reactions jsonb, reply_to text, thread text, replies integer, last_reply bigint,
               files jsonb, preview jsonb, bot boolean, display text)
LANGUAGE sql STABLE AS $fn$
  SELECT m.ms, m.seq, m.author, m.body, m.ts, m.cid, m.edited, m.deleted, m.reactions, m.reply_to, m.thread,
         m.replies, m.last_reply, m.files, m.preview, m.bot, m.display
  FROM chatnode_message_rows m
  WHERE m.room = p_room AND m.thread_ms = r_ms AND m.thread_seq = r_seq AND (m.ms, m.seq) < (b_ms, b_seq)
  ORDER BY m.ms DESC, m.seq DESC
  LIMIT p_limit
$fn$;

-- A room's archived messages (not deleted) holding all of the words, older
-- than (b_ms, b_seq), newest first.
CREATE OR REPLACE FUNCTION chatnode_search(p_room text, p_words text, b_ms bigint, b_seq bigint, p_limit integer)
RETURNS TABLE (ms bigint, seq bigint, author text, body text, ts bigint, cid text, edited bigint,
               deleted boolean, reactions jsonb, reply_to text, thread text, replies integer, last_reply bigint,
               files jsonb, preview jsonb, bot boolean, display text)
LANGUAGE sql STABLE AS $fn$
  SELECT m.ms, m.seq, m.author, m.body, m.ts, m.cid, m.edited, m.deleted, m.reactions, m.reply_to, m.thread,
         m.replies, m.last_reply, m.files, m.preview, m.bot, m.display
  FROM chatnode_message_rows m
  WHERE m.room = p_room AND m.words @@ plainto_tsquery('simple', p_words) AND NOT m.deleted
    AND (m.ms, m.seq) < (b_ms, b_seq)
  ORDER BY m.ms DESC, m.seq DESC
  LIMIT p_limit
$fn$;

-- Archived messages and events older than the retention: a room's own
-- retention_days, else `default_days` (0: kept forever). Returns the
-- messages deleted, and the ids of their files (for the file store).
CREATE OR REPLACE FUNCTION chatnode_expire(default_days integer, now_ms bigint)
RETURNS TABLE (gone bigint, files jsonb) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  gone_now bigint := 0;
  n bigint;
  lists jsonb[];
  more jsonb[];
BEGIN
  IF default_days > 0 THEN
    WITH d AS (
      DELETE FROM archive_messages m
      WHERE m.ts < now_ms - default_days * 86400000::bigint
        AND NOT EXISTS (SELECT 1 FROM archive_rooms r WHERE r.room = m.room AND r.retention_days IS NOT NULL)
      RETURNING chatnode_owned_files(m.files, m.preview) AS files)
    SELECT count(*), array_agg(d.files) INTO gone_now, lists FROM d;
    DELETE FROM archive_events e
    WHERE e.ms < now_ms - default_days * 86400000::bigint
      AND NOT EXISTS (SELECT 1 FROM archive_rooms r WHERE r.room = e.room AND r.retention_days IS NOT NULL);
  END IF;
  WITH d AS (
    DELETE FROM archive_messages m USING archive_rooms r
    WHERE m.room = r.room AND r.retention_days > 0 AND m.ts < now_ms - r.retention_days * 86400000::bigint
    RETURNING chatnode_owned_files(m.files, m.preview) AS files)
  SELECT count(*), array_agg(d.files) INTO n, more FROM d;
  DELETE FROM archive_events e USING archive_rooms r
  WHERE e.room = r.room AND r.retention_days > 0 AND e.ms < now_ms - r.retention_days * 86400000::bigint;
  RETURN QUERY SELECT gone_now + n, chatnode_file_ids(COALESCE(lists, '{}') || COALESCE(more, '{}'));
END
$fn$;

-- Erases a user's messages and events from the archive, and takes their
-- reactions off every message (for the privacy laws operators are bound
-- by). Returns the rows removed.
CREATE OR REPLACE FUNCTION chatnode_erase_user(who text)
RETURNS TABLE (gone bigint, files jsonb) LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  gone_now bigint := 0;
  n bigint;
  lists jsonb[];
BEGIN
  WITH d AS (DELETE FROM archive_messages m WHERE m.author = who RETURNING chatnode_owned_files(m.files, m.preview) AS files)
  SELECT count(*), array_agg(d.files) INTO gone_now, lists FROM d;
  DELETE FROM archive_events WHERE author = who;
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE archive_messages
  SET reactions = COALESCE((
    SELECT jsonb_agg(jsonb_build_array(pair->0, users))
    FROM (SELECT pair, (SELECT COALESCE(jsonb_agg(u), '[]') FROM jsonb_array_elements(pair->1) u WHERE u <> to_jsonb(who)) AS users
          FROM jsonb_array_elements(reactions) pair) kept
    WHERE jsonb_array_length(users) > 0), '[]')
  WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(reactions) pair WHERE pair->1 @> to_jsonb(who));
  RETURN QUERY SELECT gone_now + n, chatnode_file_ids(COALESCE(lists, '{}'));
END
$fn$;

SELECT max(version) FROM chatnode_schema;
COMMIT;
