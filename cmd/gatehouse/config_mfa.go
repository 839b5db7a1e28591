package main

import (
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// mfaConfig is the part of the configuration about second factors.
type mfaConfig struct {
	SecondFactorTTL time.Duration // SECOND_FACTOR_TTL: a login challenge's lifetime
	TOTPIssuer      string        // TOTP_ISSUER: the account's label in authenticator apps
}

// loadMFAConfig reads the second-factor settings into r's first error, if any.
func loadMFAConfig(r *envReader) mfaConfig {
	return mfaConfig{
		SecondFactorTTL: r.duration("SECOND_FACTOR_TTL", auth.DefaultChallengeTTL, 30*time.Second, time.Hour),
		TOTPIssuer:      r.str("TOTP_ISSUER", "gatehouse"),
	}
}
