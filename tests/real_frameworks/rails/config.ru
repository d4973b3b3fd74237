# frozen_string_literal: true

# Login service on Ruby on Rails 6.1 (Debian bookworm's ruby-rails, ruby-bcrypt, ruby-jwt; served by Debian's puma),
# written as a single-file Rails API app the way the Rails guides teach it ("Using Rails for API-only Applications":
# ActionController::API; "Action Controller Overview" section 4.5: strong parameters; "Active Model Basics":
# ActiveModel::SecurePassword's has_secure_password with bcrypt). The production environment with Rails' own
# defaults: config.load_defaults 6.1, eager loading, consider_all_requests_local false (so exceptions are answered by
# ActionDispatch::PublicExceptions), empty config.hosts (HostAuthorization allows every host outside development),
# no body-size limit (neither Rack nor Puma 5 has one). What `rails new --api` generates besides is kept as generated:
# wrap_parameters format: [:json] (config/initializers/wrap_parameters.rb) and filter_parameters
# (config/initializers/filter_parameter_logging.rb), so the password never reaches the log.
# The JWT (ruby-jwt's README: JWT.encode(payload, key, "HS256")) is signed with the app's secret_key_base, which the
# production environment takes from $SECRET_KEY_BASE.
#
# Run: RAILS_ENV=production SECRET_KEY_BASE=... RAILS_LOG_TO_STDOUT=1 DEMO_EMAIL=... DEMO_PASSWORD=... \
#      puma --bind tcp://127.0.0.1:$PORT --environment production config.ru

require "action_controller/railtie"
require "active_model"
require "bcrypt"
require "jwt"
require "securerandom"

class LoginApp < Rails::Application
  config.load_defaults 6.1
  config.root = __dir__
  config.api_only = true
  config.eager_load = true
  config.consider_all_requests_local = false
  config.log_level = :info
  config.log_tags = [:request_id]
  config.filter_parameters += %i[passw secret token _key crypt salt certificate otp ssn]
  if ENV["RAILS_LOG_TO_STDOUT"].present?
    logger = ActiveSupport::Logger.new($stdout)
    logger.formatter = config.log_formatter
    config.logger = ActiveSupport::TaggedLogging.new(logger)
  end

  routes.append do
    post "/api/user/login", to: "sessions#create"
  end
end

ActiveSupport.on_load(:action_controller) do
  wrap_parameters format: [:json]
end

# The account: an Active Model object with has_secure_password (bcrypt at BCrypt::Engine's default cost, 12).
# has_secure_password validates at most 72 bytes when a password is set (ActiveModel::SecurePassword::
# MAX_PASSWORD_LENGTH_ALLOWED, bcrypt's limit); authenticate passes whatever it is given to bcrypt, which reads only
# the first 72 bytes and refuses a NUL byte (ArgumentError: bcrypt-ruby hands the secret to C as a C string).
class User
  include ActiveModel::Model
  include ActiveModel::SecurePassword

  attr_accessor :id, :username, :email, :avatar_url, :password_digest

  has_secure_password

  def self.all
    @all ||= [new(id: SecureRandom.uuid, username: "demo", email: ENV.fetch("DEMO_EMAIL"),
                  avatar_url: "https://example.com/avatars/demo.png", password: ENV.fetch("DEMO_PASSWORD"))]
  end

  # The vendor's login page: the deprecated `username` holds the account's email; `email` decides when both are sent.
  def self.find_by_login(identifier)
    all.find { |user| user.email.casecmp?(identifier) }
  end
end

# The request as a form object ("Active Model Basics": ActiveModel::Attributes casts to the declared type, the
# validations are the OpenAPI schema's: password required, email in email format, username at most 80 characters).
class LoginForm
  include ActiveModel::Model
  include ActiveModel::Attributes

  attribute :email, :string
  attribute :username, :string
  attribute :password, :string

  validates :password, presence: true
  validates :email, format: { with: URI::MailTo::EMAIL_REGEXP }, allow_nil: true
  validates :username, length: { maximum: 80 }, allow_nil: true
  validate :identifier_present

  private

  def identifier_present
    errors.add(:base, "email or username is required") if email.nil? && username.nil?
  end
end

class SessionsController < ActionController::API
  TOKEN_LIFETIME = 1.hour

  def create
    form = LoginForm.new(login_params)
    unless form.valid?
      return render json: { error: "INVALID_REQUEST", fields: form.errors.to_hash }, status: :unprocessable_entity
    end

    user = User.find_by_login(form.email || form.username)
    if user&.authenticate(form.password)
      render json: { token: token_for(user), user_uuid: user.id, username: user.username, email: user.email,
                     avatar_url: user.avatar_url }, status: :created
    else
      render json: { error: "INVALID_CREDENTIALS" }, status: :unauthorized
    end
  end

  private

  # Strong parameters (Action Controller Overview 4.5): permitted scalars only -- an array or object value is
  # dropped -- from `params`, which holds the JSON body (ActiveSupport::JSON, max_nesting 100; a body that is not an
  # object comes as `_json`), form and multipart bodies and the query string alike.
  def login_params
    params.permit(:email, :username, :password)
  end

  def token_for(user)
    now = Time.now.to_i
    payload = { sub: user.id, iat: now, exp: now + TOKEN_LIFETIME.to_i, jti: SecureRandom.uuid }
    JWT.encode(payload, Rails.application.secret_key_base, "HS256")
  end
end

Rails.application.initialize!
User.all

run Rails.application
