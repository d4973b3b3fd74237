'use strict';
// Login service on Fastify 5, written the way the Fastify docs teach it: the route's JSON schema validates the body
// with Fastify's default ajv settings (coerceTypes: 'array', removeAdditional: true, useDefaults, ajv-formats for
// `email`) and Fastify's own 400 error format; the default body limit (1 MiB) and content-type parsers; @fastify/jwt
// for an HS256 token with a random 256-bit key; node:crypto scrypt for the password hash. Fastify's error format
// {statusCode, code, error, message} already carries an `error` string, so no error handler is added.
//
// Run: DEMO_EMAIL=... DEMO_PASSWORD=... PORT=... node server.js

const crypto = require('node:crypto');
const { promisify } = require('node:util');
const Fastify = require('fastify');

const scrypt = promisify(crypto.scrypt);

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

const loginSchema = {
  body: {
    type: 'object',
    properties: {
      username: { type: 'string', maxLength: 80 },
      email: { type: 'string', format: 'email' },
      password: { type: 'string' },
    },
    required: ['password'],
    anyOf: [{ required: ['email'] }, { required: ['username'] }],
  },
};

async function build() {
  const app = Fastify({ logger: false });
  await app.register(require('@fastify/jwt'), {
    secret: process.env.JWT_SECRET || crypto.randomBytes(32).toString('hex'),
    sign: { algorithm: 'HS256', expiresIn: '1h' },
  });

  const demo = {
    userUuid: crypto.randomUUID(),
    username: 'demo',
    email: process.env.DEMO_EMAIL,
    avatarUrl: 'https://example.com/avatars/demo.png',
    passwordHash: await hashPassword(process.env.DEMO_PASSWORD),
  };
  const users = new Map([[demo.email.toLowerCase(), demo]]);

  app.post('/api/user/login', { schema: loginSchema }, async (request, reply) => {
    const { email, username, password } = request.body;
    const user = users.get((email ?? username).toLowerCase());
    if (!user || !(await verifyPassword(password, user.passwordHash))) {
      return reply.code(401).send({ error: 'INVALID_CREDENTIALS' });
    }
    const token = await reply.jwtSign({ sub: user.userUuid }, { jti: crypto.randomUUID() });
    return reply.code(201).send({
      token,
      user_uuid: user.userUuid,
      username: user.username,
      email: user.email,
      avatar_url: user.avatarUrl,
    });
  });
  return app;
}

build()
  .then((app) => app.listen({ host: '127.0.0.1', port: Number(process.env.PORT || 3000) }))
  .then((address) => console.log(`listening on ${address}`))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
