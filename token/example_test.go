package token_test

import (
	"fmt"
	"log"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/token"
)

func Example() {
	// On first start: make a key and keep it in the store.
	key, err := token.GenerateEd25519(time.Now())
	if err != nil {
		log.Fatal(err)
	}
	ks, err := token.NewEdDSA([]*gatehouse.SigningKey{key}, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	tokens := token.New(ks, token.Options{
		Issuer:   "https://auth.example.com",
		Audience: "gatehouse",
		TTL:      15 * time.Minute,
	})

	raw, _, err := tokens.Issue("user-1", "session-1", "alice")
	if err != nil {
		log.Fatal(err)
	}

	claims, err := tokens.Verify(raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.SessionID, claims.Username)

	_, err = tokens.Verify(raw + "x")
	fmt.Println(gatehouse.ErrorCode(err), gatehouse.ErrorMessage(err))
	// Output:
	// user-1 session-1 alice
	// invalid_token token is invalid
}
