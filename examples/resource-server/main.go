// Command resource-server is an example of a service that accepts gatehouse
// access tokens with the verify package: it checks them locally, follows
// gatehouse's revocation feed, and so refuses a token within a second of
// its logout, without asking gatehouse on every request.
//
//	# gatehouse, with a service client for this server:
//	SERVICE_CLIENTS=notes:a-long-random-secret-for-notes go run ./cmd/gatehouse
//	# this server:
//	GATEHOUSE_ISSUER=http://127.0.0.1:8080 GATEHOUSE_CLIENT_ID=notes \
//	GATEHOUSE_CLIENT_SECRET=a-long-random-secret-for-notes go run ./examples/resource-server
//	curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:9090/hello
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "resource-server: %v\n", err)
		os.Exit(1)
	}
}

// run starts the server and serves until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	addr := getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:9090"
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	v, err := verify.New(ctx, verify.Config{
		Issuer:       getenv("GATEHOUSE_ISSUER"),
		URL:          getenv("GATEHOUSE_URL"), // "" : the issuer
		ClientID:     getenv("GATEHOUSE_CLIENT_ID"),
		ClientSecret: getenv("GATEHOUSE_CLIENT_SECRET"),
		Logger:       log,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newHandler(v), ReadHeaderTimeout: 5 * time.Second}
	go v.Run(ctx)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	fmt.Fprintf(stdout, "resource server listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler is the server's URL surface: /hello needs a gatehouse token.
func newHandler(v *verify.Verifier) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /hello", v.Middleware(http.HandlerFunc(hello)))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	return mux
}

// hello greets the token's user; the claims were put in the context by
// the verify middleware.
func hello(w http.ResponseWriter, r *http.Request) {
	c := verify.ClaimsFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"message": "hello, " + c.Username,
		"user_id": c.Subject,
		"session": c.SessionID,
	})
}
