// Login service on NestJS, written the way the NestJS documentation teaches it, and the way the vendor's backend
// very likely is: a controller with @Post('login') (201 for every POST), a DTO validated by the global
// ValidationPipe with class-validator (400 {statusCode, message: [...], error: "Bad Request"}), @nestjs/jwt for the
// token ({sub} plus iat/exp) and bcryptjs for the password hash (the "Encryption and Hashing" page). Credential
// failures are answered as the vendor's web client expects them: 201 {"error": "NO_SUCH_USER" | "WRONG_PASSWORD"}.
// Nest's defaults are kept: the Express adapter's body parsers (json and urlencoded, 100kb), no helmet, no CORS.
//
// The decorators are applied as TypeScript compiles them (the __decorate / __metadata / __param helpers tsc emits
// with emitDecoratorMetadata), so this runs on plain Node without a build step:
//
//   class LoginDto {
//     @ValidateIf(o => o.email !== undefined || o.username === undefined) @IsEmail() email?: string;
//     @IsOptional() @IsString() @MaxLength(80) username?: string;
//     @IsString() @IsNotEmpty() password: string;
//   }
//   @Controller('api/user') class AuthController {
//     constructor(private jwt: JwtService) {}
//     @Post('login') async login(@Body() dto: LoginDto) { ... }
//   }
//
// Run: DEMO_EMAIL=... DEMO_PASSWORD=... PORT=... node server.js

'use strict';
// NestJS 12 is published as ES modules; require() loads them (Node >= 20.19) and, unlike import, honours NODE_PATH,
// where the self-test lane installs the dependencies (outside this folder).
require('reflect-metadata');
const crypto = require('node:crypto');
const bcrypt = require('bcryptjs');
const { Body, Controller, Module, Post, ValidationPipe } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { JwtModule, JwtService } = require('@nestjs/jwt');
const { IsEmail, IsNotEmpty, IsOptional, IsString, MaxLength, ValidateIf } = require('class-validator');

// -- what tsc emits for decorators (tslib's __decorate, __metadata, __param)
const __decorate = (decorators, target, key, desc) =>
  key === undefined ? Reflect.decorate(decorators, target) : Reflect.decorate(decorators, target, key, desc);
const __metadata = (name, value) => Reflect.metadata(name, value);
const __param = (index, decorator) => (target, key) => decorator(target, key, index);

const demo = {
  uuid: crypto.randomUUID(),
  username: 'demo',
  email: process.env.DEMO_EMAIL,
  avatarUrl: 'https://example.com/avatars/demo.png',
  passwordHash: bcrypt.hashSync(process.env.DEMO_PASSWORD, 10),
};
const users = new Map([[demo.email, demo]]);

class LoginDto {}
__decorate([ValidateIf((o) => o.email !== undefined || o.username === undefined), IsEmail(),
  __metadata('design:type', String)], LoginDto.prototype, 'email', undefined);
__decorate([IsOptional(), IsString(), MaxLength(80), __metadata('design:type', String)],
  LoginDto.prototype, 'username', undefined);
__decorate([IsString(), IsNotEmpty(), __metadata('design:type', String)], LoginDto.prototype, 'password', undefined);

class AuthController {
  constructor(jwt) {
    this.jwt = jwt;
  }

  async login(dto) {
    const user = users.get(dto.email ?? dto.username);
    if (!user) return { error: 'NO_SUCH_USER' };
    if (!(await bcrypt.compare(dto.password, user.passwordHash))) return { error: 'WRONG_PASSWORD' };
    return {
      token: await this.jwt.signAsync({ sub: user.uuid }),
      user_uuid: user.uuid,
      username: user.username,
      email: user.email,
      avatar_url: user.avatarUrl,
    };
  }
}
__decorate([Post('login'), __param(0, Body()), __metadata('design:type', Function),
  __metadata('design:paramtypes', [LoginDto]), __metadata('design:returntype', Promise)],
AuthController.prototype, 'login', Object.getOwnPropertyDescriptor(AuthController.prototype, 'login'));
const Auth = __decorate([Controller('api/user'), __metadata('design:paramtypes', [JwtService])], AuthController);

class AppModule {}
const App = __decorate([Module({
  imports: [JwtModule.register({ secret: crypto.randomBytes(32).toString('hex'), signOptions: { expiresIn: '1h' } })],
  controllers: [Auth],
})], AppModule);

async function bootstrap() {
  const app = await NestFactory.create(App, { logger: ['error', 'warn'] });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true }));
  const port = Number(process.env.PORT || 3000);
  await app.listen(port, '127.0.0.1');
  console.log(`listening on http://127.0.0.1:${port}`);
}
bootstrap();
