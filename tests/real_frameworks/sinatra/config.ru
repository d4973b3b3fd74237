# frozen_string_literal: true

# Login service on Sinatra 3 (Debian bookworm's ruby-sinatra with its rack and rack-protection; ruby-bcrypt,
# ruby-jwt; served by Debian's puma), a modular application (Sinatra::Base) run from config.ru, written the way
# Sinatra's README teaches it: the JSON body read with `JSON.parse(request.body.read)` (README, "Accessing the
# Request Object"), `halt` with a status and a body for a refusal, `content_type :json`. Sinatra's own defaults
# everywhere else, in the production environment (RACK_ENV=production): show_exceptions and raise_errors off, so an
# unhandled exception is its `error ::Exception` answer, 500 "<h1>Internal Server Error</h1>" (text/html); a path or
# method without a route its 404 "<h1>Not Found</h1>"; Rack::Protection on (`set :protection, true`: frame options,
# http origin, ip spoofing, json csrf, path traversal, xss header with X-Content-Type-Options: nosniff); no body-size
# limit (neither Rack 2 nor Puma 5 has one). `params` (the query string merged with a form body) is not used: the
# body is JSON. The body is checked by hand (Sinatra ships no validation): password a non-empty string, email or
# username, the email against URI::MailTo::EMAIL_REGEXP (Ruby's standard library), the username at most 80
# characters (String#length counts characters).
# The password hash is BCrypt::Password (bcrypt-ruby's README: BCrypt::Password.create, `==` to compare), the token
# ruby-jwt's README usage: JWT.encode(payload, secret, "HS256") with exp and iat claims, a random 256-bit secret.
#
# Run: RACK_ENV=production DEMO_EMAIL=... DEMO_PASSWORD=... puma --bind tcp://127.0.0.1:$PORT --environment production config.ru

require "sinatra/base"
require "json"
require "bcrypt"
require "jwt"
require "securerandom"
require "uri"

class LoginApp < Sinatra::Base
  JWT_SECRET = ENV["JWT_SECRET"] || SecureRandom.hex(32)
  TOKEN_LIFETIME = 3600
  DEMO = {
    user_uuid: SecureRandom.uuid, username: "demo", email: ENV.fetch("DEMO_EMAIL"),
    avatar_url: "https://example.com/avatars/demo.png",
    password_hash: BCrypt::Password.create(ENV.fetch("DEMO_PASSWORD"))
  }.freeze
  USERS = { DEMO[:email].downcase => DEMO }.freeze

  helpers do
    def refuse(status, error, message = nil)
      halt status, { "Content-Type" => "application/json" }, { error: error, message: message }.compact.to_json
    end

    def login_body
      data = JSON.parse(request.body.read)
      refuse 400, "INVALID_REQUEST", "body must be a JSON object" unless data.is_a?(Hash)
      data
    rescue JSON::ParserError
      refuse 400, "INVALID_REQUEST", "body is not valid JSON"
    end

    def check(data)
      email, username, password = data.values_at("email", "username", "password")
      refuse 400, "INVALID_REQUEST", "password is required" unless password.is_a?(String) && !password.empty?
      refuse 400, "INVALID_REQUEST", "email or username is required" if email.nil? && username.nil?
      unless email.nil? || (email.is_a?(String) && URI::MailTo::EMAIL_REGEXP.match?(email))
        refuse 400, "INVALID_REQUEST", "email is invalid"
      end
      unless username.nil? || (username.is_a?(String) && username.length <= 80)
        refuse 400, "INVALID_REQUEST", "username must be a string of at most 80 characters"
      end
      [email || username, password]
    end
  end

  post "/api/user/login" do
    content_type :json
    identifier, password = check(login_body)
    user = USERS[identifier.downcase]
    refuse 401, "INVALID_CREDENTIALS" unless user && user[:password_hash] == password

    now = Time.now.to_i
    token = JWT.encode({ sub: user[:user_uuid], iat: now, exp: now + TOKEN_LIFETIME }, JWT_SECRET, "HS256")
    status 201
    { token: token, user_uuid: user[:user_uuid], username: user[:username], email: user[:email],
      avatar_url: user[:avatar_url] }.to_json
  end
end

run LoginApp
