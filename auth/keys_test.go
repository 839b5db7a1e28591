package auth

import (
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

func TestKeyPlan(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const ttl = 15 * time.Minute
	p := KeyPolicy{Rotation: 24 * time.Hour, PublishAhead: 10 * time.Minute, Grace: time.Minute}
	key := func(id string, created, notBefore, retire time.Duration) *gatehouse.SigningKey {
		k := &gatehouse.SigningKey{ID: id, CreatedAt: t0.Add(created), NotBefore: t0.Add(notBefore)}
		if retire != 0 {
			k.RetireAt = t0.Add(retire)
		}
		return k
	}
	for _, tc := range []struct {
		name   string
		policy KeyPolicy
		keys   []*gatehouse.SigningKey
		now    time.Duration
		want   keyPlan
	}{
		{name: "no keys: the first, at once", policy: p, now: 0,
			want: keyPlan{add: true, notBefore: t0}},
		{name: "young key: nothing", policy: p, now: 23 * time.Hour,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, 0)}},
		{name: "due: published ahead, signs when the key's time is up", policy: p, now: 23*time.Hour + 50*time.Minute,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, 0)},
			want: keyPlan{add: true, prev: "a", notBefore: t0.Add(24 * time.Hour)}},
		{name: "overdue (all instances were down): signs after PublishAhead", policy: p, now: 48 * time.Hour,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, 0)},
			want: keyPlan{add: true, prev: "a", notBefore: t0.Add(48*time.Hour + 10*time.Minute)}},
		{name: "rotation off: never due", policy: KeyPolicy{PublishAhead: 10 * time.Minute, Grace: time.Minute}, now: 4000 * time.Hour,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, 0)}},
		{name: "next key published: not due again", policy: p, now: 23*time.Hour + 55*time.Minute,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, 24*time.Hour), key("b", 23*time.Hour+50*time.Minute, 24*time.Hour, 0)}},
		{name: "rotation shorter than publish-ahead: no successor to a key not yet signing",
			policy: KeyPolicy{Rotation: time.Minute, PublishAhead: 10 * time.Minute, Grace: time.Minute}, now: 5 * time.Minute,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, 10*time.Minute), key("b", time.Minute, 10*time.Minute, 0)}},
		{name: "nothing may sign: a key at once", policy: p, now: 2 * time.Hour,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, time.Hour)},
			want: keyPlan{add: true, prev: "a", notBefore: t0.Add(2 * time.Hour)}},
		{name: "retired key kept while its tokens live", policy: p, now: 24*time.Hour + 15*time.Minute + 59*time.Second,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, 24*time.Hour), key("b", 23*time.Hour, 24*time.Hour, 0)}},
		{name: "retired key deleted after TTL and grace", policy: p, now: 24*time.Hour + 16*time.Minute,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, 24*time.Hour), key("b", 23*time.Hour, 24*time.Hour, 0)},
			want: keyPlan{remove: []string{"a"}}},
		{name: "the newest key is never deleted", policy: KeyPolicy{PublishAhead: time.Minute, Grace: time.Minute}, now: 48 * time.Hour,
			keys: []*gatehouse.SigningKey{key("a", 0, 0, time.Hour), key("b", time.Hour, time.Hour, 2*time.Hour)},
			want: keyPlan{add: true, prev: "b", notBefore: t0.Add(48 * time.Hour), remove: []string{"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.plan(tc.keys, t0.Add(tc.now), ttl)
			if got.add != tc.want.add || got.prev != tc.want.prev || !got.notBefore.Equal(tc.want.notBefore) || !slices.Equal(got.remove, tc.want.remove) {
				t.Errorf("plan = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestJWKSMaxAgeFitsPublishAhead(t *testing.T) {
	if got, want := (KeyPolicy{}).JWKSMaxAge(), 5*time.Minute; got != want {
		t.Errorf("default JWKSMaxAge = %v, want %v", got, want)
	}
	if got, want := (KeyPolicy{PublishAhead: 4 * time.Second}).JWKSMaxAge(), 2*time.Second; got != want {
		t.Errorf("JWKSMaxAge = %v, want %v", got, want)
	}
}
