// How a message's text is shown: the small Markdown subset people type in
// every chat (bold, italic, strike-through, inline code, code blocks,
// quotes), http(s) links and @mentions. This only parses: it returns plain
// objects, and the page builds elements from them with textContent, so a
// message can never become markup. The text on the wire stays as typed.
//
// Blocks: a fenced code block (``` lines ```), a quote (lines starting with
// ">"), or text. Inline, in order of precedence: `code`, links, **bold**,
// ~~strike~~, *italic* or _italic_ (underscores only at word edges, so
// snake_case stays as it is). Markers that do not close are text.

import { splitMentions } from './chatnode.mjs';

/** Trailing characters that end a sentence rather than a link. */
const LINK_TAIL = /[.,;:!?'"]+$/;
const WORD = /[\p{L}\p{N}]/u;

/** The text's blocks: {type: 'code', text} | {type: 'quote'|'text', inline}. */
export function parseMessage(text) {
  const blocks = [];
  const lines = text.split('\n');
  let run = null; // the text or quote block being gathered
  const flush = () => {
    if (run) blocks.push({ type: run.type, inline: parseInline(run.lines.join('\n')) });
    run = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trimStart().startsWith('```')) {
      const end = lines.findIndex((l, j) => j > i && l.trim().startsWith('```'));
      if (end !== -1) {
        flush();
        const first = line.trimStart().slice(3);
        const body = lines.slice(i + 1, end);
        // ```code``` on one line with nothing after: the rest of that line is code too.
        if (first.trim() !== '' && !/^[\w+-]+$/.test(first.trim())) body.unshift(first);
        blocks.push({ type: 'code', text: body.join('\n') });
        i = end;
        continue;
      }
    }
    const type = /^>\s?/.test(line) ? 'quote' : 'text';
    if (run?.type !== type) { flush(); run = { type, lines: [] }; }
    run.lines.push(type === 'quote' ? line.replace(/^>\s?/, '') : line);
  }
  flush();
  return blocks;
}

/** An http(s) link starting at `i`, or null: {href, text, end}. */
function linkAt(text, i) {
  if (i > 0 && WORD.test(text[i - 1])) return null;
  const m = /^https?:\/\/[^\s<>"`]+/i.exec(text.slice(i, i + 2048));
  if (!m) return null;
  let candidate = m[0].replace(LINK_TAIL, '');
  // A closing parenthesis belongs to the link only when it opened one.
  while (candidate.endsWith(')') && (candidate.match(/\(/g)?.length ?? 0) < (candidate.match(/\)/g)?.length ?? 0))
    candidate = candidate.slice(0, -1).replace(LINK_TAIL, '');
  let url;
  try { url = new URL(candidate); } catch { return null; }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return { href: url.href, text: candidate, end: i + candidate.length };
}

/** Where a `marker` run that opened at `open` closes, or -1: content neither
 *  empty nor with spaces at its edges; `_` closes only at a word's end. */
function closing(text, marker, open) {
  const start = open + marker.length;
  if (start >= text.length || /\s/.test(text[start])) return -1;
  for (let j = text.indexOf(marker, start + 1); j !== -1; j = text.indexOf(marker, j + 1)) {
    if (/\s/.test(text[j - 1])) continue;
    if (marker === '_' && j + 1 < text.length && WORD.test(text[j + 1])) continue;
    if (marker.length === 1 && text[j + 1] === marker) { j++; continue; } // part of a double marker
    return j;
  }
  return -1;
}

const EMPHASIS = [['**', 'strong'], ['~~', 'strike'], ['*', 'em'], ['_', 'em']];

/** Inline tokens: {type: 'text', text} | {type: 'mention', text, name} |
 *  {type: 'code', text} | {type: 'link', href, text} |
 *  {type: 'strong'|'em'|'strike', children}. */
export function parseInline(text, depth = 0) {
  const out = [];
  let plain = '';
  const flushPlain = () => {
    for (const part of plain ? splitMentions(plain) : [])
      out.push(part.mention ? { type: 'mention', text: part.text, name: part.mention } : { type: 'text', text: part.text });
    plain = '';
  };
  let noCode = false; // no closing backtick after here: none further on either
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '`' && !noCode) {
      const end = text.indexOf('`', i + 1);
      if (end === -1) noCode = true;
      else if (end > i + 1) {
        flushPlain();
        out.push({ type: 'code', text: text.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
    }
    if ((c === 'h' || c === 'H') && text[i + 1] !== undefined) {
      const link = linkAt(text, i);
      if (link) {
        flushPlain();
        out.push({ type: 'link', href: link.href, text: link.text });
        i = link.end;
        continue;
      }
    }
    if ((c === '*' || c === '~' || c === '_') && depth < 4) {
      const found = EMPHASIS.find(([marker]) => text.startsWith(marker, i)
        && !(marker === '_' && i > 0 && WORD.test(text[i - 1])));
      const end = found ? closing(text, found[0], i) : -1;
      if (end !== -1) {
        flushPlain();
        out.push({ type: found[1], children: parseInline(text.slice(i + found[0].length, end), depth + 1) });
        i = end + found[0].length;
        continue;
      }
    }
    plain += c;
    i++;
  }
  flushPlain();
  return out;
}
