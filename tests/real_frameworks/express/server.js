'use strict';
// Login service on Express 5, written the way the Express guides teach it: helmet (the "Production best practices:
// security" guide), express.json() with its defaults (100kb limit, strict: objects and arrays only), zod for the
// request body, bcryptjs (cost 10, its default) for the password hash and jsonwebtoken for an HS256 token with a
// random 256-bit key. The error-handling middleware (Express guide "Error handling") answers body-parser's errors
// with their own status as JSON with an `error` string, as the contract wants of every failure.
//
// Run: DEMO_EMAIL=... DEMO_PASSWORD=... PORT=... node server.js

const crypto = require('node:crypto');
const bcrypt = require('bcryptjs');
const express = require('express');
const helmet = require('helmet');
const jwt = require('jsonwebtoken');
const { z } = require('zod');

const JWT_SECRET = process.env.JWT_SECRET || crypto.randomBytes(32).toString('hex');

const demo = {
  userUuid: crypto.randomUUID(),
  username: 'demo',
  email: process.env.DEMO_EMAIL,
  avatarUrl: 'https://example.com/avatars/demo.png',
  passwordHash: bcrypt.hashSync(process.env.DEMO_PASSWORD, bcrypt.genSaltSync()),
};
const users = new Map([[demo.email.toLowerCase(), demo]]);

const LoginBody = z
  .object({
    username: z.string().max(80).optional(),
    email: z.email().optional(),
    password: z.string(),
  })
  .refine((body) => body.email !== undefined || body.username !== undefined, {
    message: 'email or username is required',
  });

const app = express();
app.use(helmet());
app.use(express.json());

app.post('/api/user/login', async (req, res) => {
  const parsed = LoginBody.safeParse(req.body);
  if (!parsed.success) {
    return res.status(400).json({ error: 'INVALID_REQUEST', fields: z.flattenError(parsed.error).fieldErrors });
  }
  const { email, username, password } = parsed.data;
  const user = users.get((email ?? username).toLowerCase());
  if (!user || !(await bcrypt.compare(password, user.passwordHash))) {
    return res.status(401).json({ error: 'INVALID_CREDENTIALS' });
  }
  const token = jwt.sign({ sub: user.userUuid }, JWT_SECRET, {
    algorithm: 'HS256',
    expiresIn: '1h',
    jwtid: crypto.randomUUID(),
  });
  return res.status(201).json({
    token,
    user_uuid: user.userUuid,
    username: user.username,
    email: user.email,
    avatar_url: user.avatarUrl,
  });
});

// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  const status = err.status || err.statusCode || 500;
  const error = status === 413 ? 'PAYLOAD_TOO_LARGE' : status < 500 ? 'INVALID_REQUEST' : 'INTERNAL_ERROR';
  res.status(status).json({ error });
});

const port = Number(process.env.PORT || 3000);
app.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${port}`);
});
