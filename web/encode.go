package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// MaxBody is the largest request body accepted (API.md: 64 KiB).
const MaxBody = 64 << 10

// decode reads a JSON request body into v strictly: application/json only,
// at most MaxBody bytes, valid UTF-8, no unknown fields, nothing after the
// object. With optional set, an empty body leaves v as it is.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if optional && r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	if err := checkJSONType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return gatehouse.Errorf(gatehouse.ETOOLARGE, "request body is larger than %d bytes", MaxBody)
	} else if err != nil {
		return gatehouse.Errorf(gatehouse.EMALFORMED, "request body could not be read")
	}
	if optional && len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	return unmarshalStrict(data, v)
}

// unmarshalStrict decodes one JSON object from data into v and refuses
// anything lenient encoding/json would let through.
func unmarshalStrict(data []byte, v any) error {
	if !utf8.Valid(data) {
		return gatehouse.Errorf(gatehouse.EMALFORMED, "request body is not valid UTF-8")
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return gatehouse.Errorf(gatehouse.EMALFORMED, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return gatehouse.Errorf(gatehouse.EMALFORMED, "%s", jsonErrorMessage(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return gatehouse.Errorf(gatehouse.EMALFORMED, "request body has data after the JSON object")
	}
	if !pairedSurrogates(data) {
		return gatehouse.Errorf(gatehouse.EMALFORMED, "request body has an unpaired \\u surrogate escape")
	}
	if duplicateMember(json.NewDecoder(bytes.NewReader(data))) {
		return gatehouse.Errorf(gatehouse.EMALFORMED, "request body has a member name twice in one object")
	}
	return nil
}

// duplicateMember reports whether the next JSON value of dec, valid JSON,
// has an object with two members of the same name, where names that
// differ only in case count as the same: encoding/json fills a field from
// either, and from the last of them, so {"username":"a","Username":"b"}
// would mean "b" here and maybe "a" to a proxy or a log that read it
// first (RFC 8259 leaves duplicates to each parser; I-JSON forbids them).
func duplicateMember(dec *json.Decoder) bool {
	t, err := dec.Token()
	if err != nil {
		return false // not reached: data has been decoded once already
	}
	switch t {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			name, _ := dec.Token()
			key, _ := name.(string)
			k := foldName(key)
			if seen[k] {
				return true
			}
			seen[k] = true
			if duplicateMember(dec) {
				return true
			}
		}
		dec.Token() // '}'
	case json.Delim('['):
		for dec.More() {
			if duplicateMember(dec) {
				return true
			}
		}
		dec.Token() // ']'
	}
	return false
}

// foldName maps every rune of s to the smallest of its case-folding
// orbit, so that two names encoding/json would match to one field (it
// folds case as strings.EqualFold does) have the same foldName.
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		return low
	}, s)
}

// pairedSurrogates reports whether every \uD800-\uDFFF escape in the valid
// JSON text data is half of a high-low pair. encoding/json turns a lone
// one into U+FFFD, so without this check different inputs (say two
// passwords) would silently become the same string.
func pairedSurrogates(data []byte) bool {
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		i++ // valid JSON: an escape always has its next byte
		if data[i] != 'u' {
			continue
		}
		switch r := hex4(data[i+1:]); {
		case r >= 0xD800 && r < 0xDC00:
			if i+10 >= len(data) || data[i+5] != '\\' || data[i+6] != 'u' {
				return false
			}
			if lo := hex4(data[i+7:]); lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 10
		case r >= 0xDC00 && r <= 0xDFFF:
			return false
		default:
			i += 4
		}
	}
	return true
}

// hex4 reads four hex digits (valid JSON guarantees them) as a number.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		}
	}
	return r
}

// jsonErrorMessage turns a decoding error into a message for the client
// without echoing the input back.
func jsonErrorMessage(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return "field " + strconv.Quote(typeErr.Field) + " has the wrong type"
	case errors.As(err, &syntaxErr):
		return "request body is not valid JSON (at byte " + strconv.FormatInt(syntaxErr.Offset, 10) + ")"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "request body is truncated JSON"
	}
	if msg := err.Error(); len(msg) > 20 && msg[:20] == "json: unknown field " {
		return "unknown field " + msg[20:]
	}
	return "request body is not a valid JSON object of the expected shape"
}

func checkJSONType(ct string) error {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return gatehouse.Errorf(gatehouse.EMEDIATYPE, "request body must be application/json")
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return gatehouse.Errorf(gatehouse.EMEDIATYPE, "request body must be application/json in UTF-8")
		}
	}
	return nil
}

// encode writes v as JSON with the given status.
func encode(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own response types reach here
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// required returns EMALFORMED naming the first missing field.
func required(fields ...namedField) error {
	for _, f := range fields {
		if f.v == nil {
			return gatehouse.Errorf(gatehouse.EMALFORMED, "field %q is required", f.name)
		}
	}
	return nil
}

type namedField struct {
	name string
	v    *string
}
