<?php
// Login service in plain PHP 8.2 (Debian's php-cli and its php.ini, no framework, no composer), served by PHP's
// built-in web server: php -S 127.0.0.1:PORT router.php. Written the way a typical plain-PHP JSON endpoint is:
// - the body is json_decode(file_get_contents('php://input'), true), whatever the Content-Type (PHP parses only
//   form and multipart bodies itself); its documented behaviours stand: null for invalid JSON, invalid UTF-8, a lone
//   \u surrogate or nesting deeper than 512; the last of duplicate keys wins; big integers become floats;
// - password_hash / password_verify with PASSWORD_DEFAULT (bcrypt, cost 10; bcrypt reads at most 72 bytes);
// - an HS256 JWT made with hash_hmac('sha256', ...) and base64url, {sub, iat, exp};
// - http_response_code() and header('Content-Type: application/json'), every answer a JSON object, a failure
//   {"error": "..."}; a method other than POST gets 405 with Allow, another path 404;
// - the username's length checked with strlen (bytes: mbstring is not part of php-cli), the email with
//   filter_var(FILTER_VALIDATE_EMAIL).
// The users live in a JSON file (USERS_FILE), seeded with the demo account (DEMO_EMAIL, DEMO_PASSWORD) and the
// token key on the first request, as a database would hold them between requests: PHP keeps no state between them.

declare(strict_types=1);

function respond(int $status, array $body): void
{
    http_response_code($status);
    header('Content-Type: application/json');
    echo json_encode($body);
}

function base64url(string $bytes): string
{
    return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
}

function jwt_hs256(array $claims, string $key): string
{
    $header = base64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT']));
    $payload = base64url(json_encode($claims));
    return "$header.$payload." . base64url(hash_hmac('sha256', "$header.$payload", $key, true));
}

function uuid4(): string
{
    $bytes = random_bytes(16);
    $bytes[6] = chr(ord($bytes[6]) & 0x0f | 0x40);
    $bytes[8] = chr(ord($bytes[8]) & 0x3f | 0x80);
    return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($bytes), 4));
}

function load_store(): array
{
    $file = getenv('USERS_FILE') ?: sys_get_temp_dir() . '/login-php-users.json';
    $handle = fopen($file, 'c+');
    flock($handle, LOCK_EX);
    $store = json_decode(stream_get_contents($handle), true);
    if (!is_array($store)) {
        $email = getenv('DEMO_EMAIL');
        $store = [
            'jwt_key' => bin2hex(random_bytes(32)),
            'users' => [strtolower($email) => [
                'user_uuid' => uuid4(),
                'username' => 'demo',
                'email' => $email,
                'avatar_url' => 'https://example.com/avatars/demo.png',
                'password_hash' => password_hash(getenv('DEMO_PASSWORD'), PASSWORD_DEFAULT),
            ]],
        ];
        ftruncate($handle, 0);
        fwrite($handle, json_encode($store));
    }
    flock($handle, LOCK_UN);
    fclose($handle);
    return $store;
}

function login(): void
{
    $input = json_decode(file_get_contents('php://input'), true);
    if (!is_array($input)) {
        respond(400, ['error' => 'Invalid JSON body']);
        return;
    }
    $email = $input['email'] ?? null;
    $username = $input['username'] ?? null;
    $password = $input['password'] ?? null;
    if (!is_string($password) || $password === '') {
        respond(400, ['error' => 'password is required']);
        return;
    }
    if ($email === null && $username === null) {
        respond(400, ['error' => 'email or username is required']);
        return;
    }
    if ($email !== null && (!is_string($email) || filter_var($email, FILTER_VALIDATE_EMAIL) === false)) {
        respond(400, ['error' => 'email is invalid']);
        return;
    }
    if ($username !== null && (!is_string($username) || strlen($username) > 80)) {
        respond(400, ['error' => 'username must be a string of at most 80 characters']);
        return;
    }
    $store = load_store();
    $user = $store['users'][strtolower($email ?? $username)] ?? null;
    if ($user === null || !password_verify($password, $user['password_hash'])) {
        respond(401, ['error' => 'Invalid email or password']);
        return;
    }
    $now = time();
    respond(201, [
        'token' => jwt_hs256(['sub' => $user['user_uuid'], 'iat' => $now, 'exp' => $now + 3600], $store['jwt_key']),
        'user_uuid' => $user['user_uuid'],
        'username' => $user['username'],
        'email' => $user['email'],
        'avatar_url' => $user['avatar_url'],
    ]);
}

$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
if ($path !== '/api/user/login') {
    respond(404, ['error' => 'Not found']);
} elseif ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    header('Allow: POST');
    respond(405, ['error' => 'Method not allowed']);
} else {
    login();
}
