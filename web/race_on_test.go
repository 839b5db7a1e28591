//go:build race

package web_test

// raceEnabled: the race detector slows bcrypt about tenfold, so the
// timing tests skip under it.
const raceEnabled = true
