package web

import (
	"strings"
)

// deviceName turns a User-Agent string into the words a person recognises
// in a session list ("Firefox on Windows"). It is a guess from well-known
// tokens, for display only; the full string is shown beside it.
func deviceName(ua string) string {
	if strings.TrimSpace(ua) == "" {
		return "Unknown device"
	}
	b, o := browserName(ua), osName(ua)
	switch {
	case b != "" && o != "":
		return b + " on " + o
	case b != "":
		return b
	case o != "":
		return "Browser on " + o
	}
	name, _, _ := strings.Cut(ua, " ")
	if len(name) > 40 {
		name = name[:40] + "…"
	}
	return name
}

// browserName checks the tokens in an order that matters: Edge and Opera
// also say Chrome, and Chrome also says Safari.
func browserName(ua string) string {
	for _, c := range []struct{ token, name string }{
		{"Edg/", "Edge"},
		{"OPR/", "Opera"},
		{"Firefox/", "Firefox"},
		{"HeadlessChrome/", "Headless Chrome"},
		{"Chrome/", "Chrome"},
		{"CriOS/", "Chrome"},
		{"Version/", "Safari"},
		{"curl/", "curl"},
		{"Go-http-client/", "Go program"},
	} {
		if strings.Contains(ua, c.token) {
			return c.name
		}
	}
	return ""
}

func osName(ua string) string {
	for _, c := range []struct{ token, name string }{
		{"Android", "Android"},
		{"iPhone", "iPhone"},
		{"iPad", "iPad"},
		{"CrOS", "ChromeOS"},
		{"Mac OS X", "macOS"},
		{"Windows", "Windows"},
		{"Linux", "Linux"},
	} {
		if strings.Contains(ua, c.token) {
			return c.name
		}
	}
	return ""
}

// handheld reports whether the user agent is a phone or a tablet.
func handheld(ua string) bool {
	switch osName(ua) {
	case "Android", "iPhone", "iPad":
		return true
	}
	return false
}
