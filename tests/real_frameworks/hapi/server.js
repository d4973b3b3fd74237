'use strict';
// Login service on hapi 21, written the way the hapi tutorials ("Validation", "Routing") teach it: joi validates the
// payload on the route (`options.validate.payload`) with hapi's default failAction 'error', which answers Boom's 400
// {statusCode, error, message} and keeps joi's details out of the answer; hapi's default payload settings (parse:
// true, maxBytes 1 MiB, the content types subtext parses, defaultContentType application/json); @hapi/jwt for an
// HS256 token with a random 256-bit key and node:crypto scrypt for the password hash. A wrong credential is
// Boom.unauthorized(message), whose answer carries hapi's `error` reason phrase like every Boom error, so no
// onPreResponse handler is added.
//
// Run: DEMO_EMAIL=... DEMO_PASSWORD=... PORT=... node server.js

const crypto = require('node:crypto');
const { promisify } = require('node:util');
const Boom = require('@hapi/boom');
const Hapi = require('@hapi/hapi');
const Jwt = require('@hapi/jwt');
const Joi = require('joi');

const scrypt = promisify(crypto.scrypt);
const JWT_SECRET = process.env.JWT_SECRET || crypto.randomBytes(32).toString('hex');

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

const loginPayload = Joi.object({
  username: Joi.string().max(80),
  email: Joi.string().email(),
  password: Joi.string().required(),
}).or('email', 'username');

async function start() {
  const demo = {
    userUuid: crypto.randomUUID(),
    username: 'demo',
    email: process.env.DEMO_EMAIL,
    avatarUrl: 'https://example.com/avatars/demo.png',
    passwordHash: await hashPassword(process.env.DEMO_PASSWORD),
  };
  const users = new Map([[demo.email.toLowerCase(), demo]]);

  const server = Hapi.server({ host: '127.0.0.1', port: Number(process.env.PORT || 3000) });

  server.route({
    method: 'POST',
    path: '/api/user/login',
    options: {
      validate: { payload: loginPayload },
    },
    handler: async (request, h) => {
      const { email, username, password } = request.payload;
      const user = users.get((email ?? username).toLowerCase());
      if (!user || !(await verifyPassword(password, user.passwordHash))) {
        throw Boom.unauthorized('Invalid email or password');
      }
      const token = Jwt.token.generate(
        { sub: user.userUuid, jti: crypto.randomUUID() },
        { key: JWT_SECRET, algorithm: 'HS256' },
        { ttlSec: 3600 },
      );
      return h
        .response({
          token,
          user_uuid: user.userUuid,
          username: user.username,
          email: user.email,
          avatar_url: user.avatarUrl,
        })
        .code(201);
    },
  });

  await server.start();
  console.log(`listening on ${server.info.uri}`);
}

start().catch((err) => {
  console.error(err);
  process.exit(1);
});
