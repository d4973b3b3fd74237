// Login service on Go's standard library only (net/http, encoding/json), written the way Go services commonly are:
// the body decoded with json.NewDecoder into a struct through http.MaxBytesReader(w, r.Body, 1<<20), the email
// checked with net/mail.ParseAddress, the username length counted in runes (utf8.RuneCountInString), the password
// hashed with PBKDF2-HMAC-SHA256 (RFC 8018; the standard library of Go 1.19 has no password hash, so it is built on
// crypto/hmac as the RFC describes) and an HS256 JWT (RFC 7519) signed with a random 256-bit key from crypto/rand.
//
// Run: DEMO_EMAIL=... DEMO_PASSWORD=... PORT=... ./login
package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"net/mail"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	pbkdf2Iterations = 100000
	tokenLifetime    = time.Hour
	maxBodyBytes     = 1 << 20
)

type user struct {
	UUID         string
	Username     string
	Email        string
	AvatarURL    string
	Salt         []byte
	PasswordHash []byte
}

type loginRequest struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string `json:"token"`
	UserUUID  string `json:"user_uuid"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	AvatarURL string `json:"avatar_url"`
}

type errorResponse struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

type server struct {
	users  map[string]*user
	secret []byte
}

// pbkdf2 is PBKDF2 (RFC 8018 section 5.2) with HMAC-SHA256.
func pbkdf2(password, salt []byte, iterations, keyLen int) []byte {
	prf := hmac.New(sha256.New, password)
	hashLen := prf.Size()
	blocks := (keyLen + hashLen - 1) / hashLen
	out := make([]byte, 0, blocks*hashLen)
	buf := make([]byte, 4)
	for block := 1; block <= blocks; block++ {
		prf.Reset()
		prf.Write(salt)
		binary.BigEndian.PutUint32(buf, uint32(block))
		prf.Write(buf)
		u := prf.Sum(nil)
		t := make([]byte, len(u))
		copy(t, u)
		for i := 1; i < iterations; i++ {
			prf.Reset()
			prf.Write(u)
			u = prf.Sum(u[:0])
			for j := range t {
				t[j] ^= u[j]
			}
		}
		out = append(out, t...)
	}
	return out[:keyLen]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		log.Fatal(err)
	}
	return b
}

func newUUID() string {
	b := randomBytes(16)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *server) signToken(u *user) (string, error) {
	enc := base64.RawURLEncoding
	header, err := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims, err := json.Marshal(map[string]interface{}{
		"sub": u.UUID, "iat": now.Unix(), "exp": now.Add(tokenLifetime).Unix(), "jti": newUUID(),
	})
	if err != nil {
		return "", err
	}
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(signingInput))
	return signingInput + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Printf("write response: %v", err)
	}
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errorResponse{Error: "METHOD_NOT_ALLOWED"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	var req loginRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorResponse{Error: "PAYLOAD_TOO_LARGE"})
			return
		}
		writeJSON(w, http.StatusBadRequest, errorResponse{Error: "INVALID_REQUEST", Message: "malformed JSON body"})
		return
	}
	identifier := req.Email
	switch {
	case req.Password == "":
		writeJSON(w, http.StatusBadRequest, errorResponse{Error: "INVALID_REQUEST", Message: "password is required"})
		return
	case req.Email == "" && req.Username == "":
		writeJSON(w, http.StatusBadRequest, errorResponse{Error: "INVALID_REQUEST", Message: "email is required"})
		return
	case req.Email != "":
		if _, err := mail.ParseAddress(req.Email); err != nil {
			writeJSON(w, http.StatusBadRequest, errorResponse{Error: "INVALID_REQUEST", Message: "invalid email"})
			return
		}
	default:
		if utf8.RuneCountInString(req.Username) > 80 {
			writeJSON(w, http.StatusBadRequest, errorResponse{Error: "INVALID_REQUEST", Message: "username too long"})
			return
		}
		identifier = req.Username
	}
	u, ok := s.users[strings.ToLower(identifier)]
	if !ok || !hmac.Equal(pbkdf2([]byte(req.Password), u.Salt, pbkdf2Iterations, 32), u.PasswordHash) {
		writeJSON(w, http.StatusUnauthorized, errorResponse{Error: "INVALID_CREDENTIALS"})
		return
	}
	token, err := s.signToken(u)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorResponse{Error: "INTERNAL_ERROR"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, loginResponse{
		Token: token, UserUUID: u.UUID, Username: u.Username, Email: u.Email, AvatarURL: u.AvatarURL,
	})
}

func main() {
	secret := []byte(os.Getenv("JWT_SECRET"))
	if len(secret) == 0 {
		secret = randomBytes(32)
	}
	salt := randomBytes(16)
	demo := &user{
		UUID: newUUID(), Username: "demo", Email: os.Getenv("DEMO_EMAIL"),
		AvatarURL: "https://example.com/avatars/demo.png", Salt: salt,
		PasswordHash: pbkdf2([]byte(os.Getenv("DEMO_PASSWORD")), salt, pbkdf2Iterations, 32),
	}
	s := &server{users: map[string]*user{strings.ToLower(demo.Email): demo}, secret: secret}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/user/login", s.login)
	addr := net.JoinHostPort("127.0.0.1", os.Getenv("PORT"))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s", addr)
	log.Fatal(srv.ListenAndServe())
}
