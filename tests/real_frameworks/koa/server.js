'use strict';
// Login service on Koa 3, written the way Koa's own documentation and its middleware READMEs teach it:
// - @koa/bodyparser (the koajs body parser) with its defaults: enableTypes ['json', 'form'], co-body's jsonLimit 1mb
//   and formLimit 56kb, strict JSON (objects and arrays only), a body of any other type left as {};
// - @koa/router with `app.use(router.routes()).use(router.allowedMethods())` (the router README's usage);
// - the error-handling middleware of Koa's "Error Handling" guide (try { await next() } first in the stack), answering
//   the error's own status with a JSON `error`: the message of an exposed http-error (ctx.throw's 4xx), else the
//   status's reason phrase, as Koa's default ctx.onerror words it (co-body's SyntaxError for malformed JSON, status
//   400, is not exposed: "Bad Request");
// - the body checked by hand: Koa ships no validation, and two string fields need none (typeof, String#length, a
//   simple email pattern);
// - jsonwebtoken's README usage: jwt.sign({ sub }, secret, { expiresIn: '1h' }) (HS256 by default) with a random
//   256-bit key; node:crypto scrypt for the password hash.
//
// Run: DEMO_EMAIL=... DEMO_PASSWORD=... PORT=... node server.js

const crypto = require('node:crypto');
const { STATUS_CODES } = require('node:http');
const { promisify } = require('node:util');
const { bodyParser } = require('@koa/bodyparser');
const Router = require('@koa/router');
const jwt = require('jsonwebtoken');
const Koa = require('koa');

const scrypt = promisify(crypto.scrypt);
const JWT_SECRET = process.env.JWT_SECRET || crypto.randomBytes(32).toString('hex');
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

async function hashPassword(password) {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, 64);
  return `${salt.toString('base64')}:${key.toString('base64')}`;
}

async function verifyPassword(password, stored) {
  const [salt, key] = stored.split(':').map((part) => Buffer.from(part, 'base64'));
  const candidate = await scrypt(password, salt, key.length);
  return crypto.timingSafeEqual(candidate, key);
}

function readLogin(ctx) {
  const { email, username, password } = ctx.request.body;
  if (typeof password !== 'string' || password === '') ctx.throw(400, 'password is required');
  if (email === undefined && username === undefined) ctx.throw(400, 'email or username is required');
  if (email !== undefined && (typeof email !== 'string' || !EMAIL.test(email))) ctx.throw(400, 'email is invalid');
  if (username !== undefined && (typeof username !== 'string' || username.length > 80)) {
    ctx.throw(400, 'username must be a string of at most 80 characters');
  }
  return { email, username, password };
}

async function start() {
  const demo = {
    userUuid: crypto.randomUUID(),
    username: 'demo',
    email: process.env.DEMO_EMAIL,
    avatarUrl: 'https://example.com/avatars/demo.png',
    passwordHash: await hashPassword(process.env.DEMO_PASSWORD),
  };
  const users = new Map([[demo.email.toLowerCase(), demo]]);

  const router = new Router();
  router.post('/api/user/login', async (ctx) => {
    const { email, username, password } = readLogin(ctx);
    const user = users.get((email ?? username).toLowerCase());
    if (!user || !(await verifyPassword(password, user.passwordHash))) {
      ctx.throw(401, 'Invalid email or password');
    }
    ctx.status = 201;
    ctx.body = {
      token: jwt.sign({ sub: user.userUuid }, JWT_SECRET, { expiresIn: '1h' }),
      user_uuid: user.userUuid,
      username: user.username,
      email: user.email,
      avatar_url: user.avatarUrl,
    };
  });

  const app = new Koa();
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      ctx.status = err.status || 500;
      ctx.body = { error: err.expose ? err.message : STATUS_CODES[ctx.status] };
      ctx.app.emit('error', err, ctx);
    }
  });
  app.use(bodyParser());
  app.use(router.routes()).use(router.allowedMethods());

  const port = Number(process.env.PORT || 3000);
  app.listen(port, '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${port}`);
  });
}

start().catch((err) => {
  console.error(err);
  process.exit(1);
});
