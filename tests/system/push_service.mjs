// A push service stand-in on loopback (RFC 8030 §5: a push message is a POST
// to the subscription's endpoint; 201 when taken). It keeps every request it
// is sent, answers as a test scripts it per endpoint, and opens what it got
// with implementations nobody here wrote: the VAPID token (RFC 8292) with
// jose against the node's `push_key`, the body (RFC 8291, aes128gcm) with
// http_ece and the subscriber's private key, as a browser would.

import { createServer } from 'node:http';
import { createECDH, randomBytes } from 'node:crypto';
import ece from 'http_ece';
import { decodeJwt, importJWK, jwtVerify } from 'jose';

/** A browser's subscription: its P-256 key pair and auth secret. */
export class Subscriber {
  constructor(service, name) {
    this.ua = createECDH('prime256v1');
    this.ua.generateKeys();
    this.auth = randomBytes(16);
    this.endpoint = `${service.origin}/push/${name}-${randomBytes(4).toString('hex')}`;
    this.path = new URL(this.endpoint).pathname;
    this.service = service;
  }
  get keys() { return { p256dh: this.ua.getPublicKey().toString('base64url'), auth: this.auth.toString('base64url') }; }
  /** The pushes this subscription was sent, in order. */
  get received() { return this.service.requests.filter((r) => r.path === this.path); }
  /** A push's payload, decrypted. */
  open(request) {
    const plain = ece.decrypt(request.body, { version: 'aes128gcm', privateKey: this.ua, authSecret: this.auth.toString('base64url') });
    return JSON.parse(plain.toString('utf8'));
  }
}

export class PushService {
  constructor() { this.requests = []; this.scripts = new Map(); this.onRequest = null; }
  async start() {
    this.server = createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const request = { path: req.url, method: req.method, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
        this.requests.push(request);
        this.onRequest?.(request);
        const answer = this.scripts.get(req.url)?.shift() ?? { status: 201 };
        const reply = () => {
          res.writeHead(answer.status, answer.retryAfter !== undefined ? { 'Retry-After': String(answer.retryAfter) } : {});
          res.end();
        };
        if (answer.delay) setTimeout(reply, answer.delay); else reply();
      });
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }
  /** Answers the next requests to `subscriber` so: [{status, retryAfter, delay}, ...]; then 201. */
  script(subscriber, answers) { this.scripts.set(subscriber.path, [...answers]); }
  stop() { this.server.closeAllConnections?.(); return new Promise((resolve) => this.server.close(resolve)); }
}

/** Checks a push request's VAPID token against the node's public key
 * (base64url of the uncompressed point) and returns its claims. */
export async function verifyVapid(request, publicKey, audience) {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(request.headers.authorization ?? '');
  if (!m) throw new Error(`not a VAPID Authorization header: ${request.headers.authorization}`);
  if (m[2] !== publicKey) throw new Error('k is not the node\'s push_key');
  const point = Buffer.from(publicKey, 'base64url');
  const key = await importJWK({ kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33, 65).toString('base64url') }, 'ES256');
  const { payload } = await jwtVerify(m[1], key, { audience, algorithms: ['ES256'] });
  return { ...payload, raw: decodeJwt(m[1]) };
}
