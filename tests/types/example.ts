// A small program on the client library, as a developer would write it:
// `tsc --noEmit -p tests/types` checks it against web/chatnode.d.mts (and
// that the declarations themselves are well formed). Never run.

import { ChatClient, ChatError, compareIds, tokenExpiry, type Command, type CommandEvent, type Message, type StoredEvent } from '../../web/chatnode.mjs';

async function freshToken(): Promise<string> {
  const res = await fetch('/my-backend/chat-token', { credentials: 'include' });
  return ((await res.json()) as { token: string }).token;
}

export async function main(): Promise<void> {
  const client = new ChatClient({ url: 'wss://chat.example.com/ws', name: 'ada', token: await freshToken(), renewToken: freshToken });
  client.on('status', ({ status, code }) => {
    if (status === 'offline' && code === 4001) console.log('signed out');
  });
  client.on('welcome', ({ node, files }) => console.log(node, files?.max_bytes ?? 0));
  client.on('token', ({ exp }) => console.log('token good until', new Date(exp * 1000)));
  client.connect();

  const room = client.room('lobby').join();
  room.on('message', ({ message: m, mine }) => {
    const when = new Date(m.ts).toISOString();
    console.log(when, mine, m.user, m.deleted ? '(deleted)' : m.text, m.reply_to ?? '', m.files.map((f) => f.url));
  });
  room.on('change', ({ message, change }) => console.log(change.type, message.text, [...message.reactions.keys()]));
  room.on('presence', ({ members, user, event }) => console.log(members.length, user, event));
  room.on('error', ({ code, error }) => console.log(code, error.message));
  const latest: Message | undefined = room.get(room.lastMessageId() ?? '');
  console.log(latest?.text);
  room.on('typing', ({ user }) => console.log(`${user} is typing`));

  try {
    const stored = (await room.send('hello @bob', { cid: 'hello-1' })) as StoredEvent; // text, not a command
    const reply = (await room.send('a reply', { replyTo: stored.id })) as StoredEvent;
    // Slash commands: offered as one types "/", answered for the caller alone or by a bot.
    const commands: Command[] = await client.commands();
    const deploy = commands.find((c) => c.name === 'deploy' && (!c.rooms || c.rooms.includes(room.name)));
    if (deploy) {
      const done = (await room.send(`/${deploy.name} api`)) as CommandEvent;
      console.log(done.text ?? `posted ${done.id ?? 'nothing'}`);
    }
    const thread = room.thread(stored.id);
    await thread.send('in the thread');
    await thread.loadOlder(20);
    thread.markRead();
    await room.react(reply.id, '👍');
    await room.edit(reply.id, 'an edited reply');
    console.log(compareIds(stored.id, reply.id) < 0, room.memberNames(), room.unreadMessages().length);
  } catch (error) {
    if (error instanceof ChatError && error.code === 'rate_limited') console.log('slow down');
    else throw error;
  }

  const page = await client.directory({ limit: 20, watch: true });
  for (const r of page.rooms) console.log(r.room, r.members);
  const found = await client.search('lobby', 'release notes', { limit: 10 });
  console.log(found.messages.length, found.more);
  const dm = await client.dm('bob');
  await dm.send('hi bob');
  await client.setNotifyLevel('lobby', 'mentions');
  console.log(await client.notifyLevels(), tokenExpiry(client.token));
  client.close();
}
