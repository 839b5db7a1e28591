package main

import (
	"slices"
	"strings"
	"testing"
)

// TestWebAuthnConfig: the relying party id and origins default to the
// issuer's host and origin (localhost for a loopback issuer, off for
// another IP address), and a bad setting names its variable.
func TestWebAuthnConfig(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		rpID    string
		origins []string
		wantErr string
	}{
		{name: "defaults", rpID: "localhost", origins: []string{"http://localhost:8080"}},
		{name: "issuer", vars: map[string]string{"ISSUER": "https://Auth.Example.com"}, rpID: "auth.example.com", origins: []string{"https://auth.example.com"}},
		{name: "issuer with port", vars: map[string]string{"ISSUER": "https://auth.example.com:8443/"}, rpID: "auth.example.com", origins: []string{"https://auth.example.com:8443"}},
		{name: "parent domain", vars: map[string]string{"ISSUER": "https://auth.example.com", "WEBAUTHN_RP_ID": "example.com"}, rpID: "example.com", origins: []string{"https://auth.example.com"}},
		{name: "explicit", vars: map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://example.com, https://app.example.com"},
			rpID: "example.com", origins: []string{"https://example.com", "https://app.example.com"}},
		{name: "ipv6 loopback", vars: map[string]string{"ADDR": "[::1]:9000"}, rpID: "localhost", origins: []string{"http://localhost:9000"}},
		{name: "other IP: off", vars: map[string]string{"ISSUER": "http://10.0.0.5:8080"}, rpID: ""},
		{name: "IP refused", vars: map[string]string{"WEBAUTHN_RP_ID": "10.0.0.5"}, wantErr: "WEBAUTHN_RP_ID"},
		{name: "scheme refused", vars: map[string]string{"WEBAUTHN_RP_ID": "https://example.com"}, wantErr: "WEBAUTHN_RP_ID"},
		{name: "port refused", vars: map[string]string{"WEBAUTHN_RP_ID": "example.com:443"}, wantErr: "WEBAUTHN_RP_ID"},
		{name: "origin elsewhere", vars: map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://evil.com"}, wantErr: "WEBAUTHN_ORIGINS"},
		{name: "suffix is not a subdomain", vars: map[string]string{"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_ORIGINS": "https://badexample.com"}, wantErr: "WEBAUTHN_ORIGINS"},
		{name: "issuer elsewhere", vars: map[string]string{"WEBAUTHN_RP_ID": "example.com"}, wantErr: "WEBAUTHN_ORIGINS"},
		{name: "wildcard origin", vars: map[string]string{"WEBAUTHN_ORIGINS": "*"}, wantErr: "WEBAUTHN_ORIGINS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(envOf(tt.vars))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a configuration error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RPID != tt.rpID || (tt.rpID != "" && !slices.Equal(cfg.Origins, tt.origins)) {
				t.Fatalf("rp id %q, origins %q; want %q, %q", cfg.RPID, cfg.Origins, tt.rpID, tt.origins)
			}
		})
	}
}
