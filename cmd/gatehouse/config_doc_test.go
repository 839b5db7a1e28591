package main

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readmeConfig returns README.md's configuration table: each variable
// named in a row's first column, with the row's default column.
func readmeConfig(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no '## Configuration' section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	names := regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")
	rows := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.Contains(cells[1], "`") {
			continue
		}
		for _, m := range names.FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = strings.TrimSpace(cells[3])
		}
	}
	return rows
}

// readVariables returns every variable loadConfig asks getenv for. Two
// runs: with nothing set, and with DB_HOST set, which makes it read the
// other DB_* parts.
func readVariables(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, set := range []map[string]string{{}, {"DB_HOST": "db.example"}} {
		_, err := loadConfig(func(k string) string { seen[k] = true; return set[k] })
		if err != nil {
			t.Fatalf("loadConfig: %v", err)
		}
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestREADMEConfigTable: README.md's configuration table lists exactly the
// variables loadConfig reads, and each single-value default it states is
// the default loadConfig gives the field that names the variable.
func TestREADMEConfigTable(t *testing.T) {
	rows := readmeConfig(t)
	read := readVariables(t)
	var documented []string
	for k := range rows {
		documented = append(documented, k)
	}
	sort.Strings(documented)
	for _, v := range read {
		if _, ok := rows[v]; !ok {
			t.Errorf("config.go reads %s, which README.md's configuration table does not list", v)
		}
	}
	for _, v := range documented {
		if !slices.Contains(read, v) {
			t.Errorf("README.md's configuration table lists %s, which config.go does not read", v)
		}
	}
	defaults, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	rv, rt := reflect.ValueOf(*defaults), reflect.TypeOf(*defaults)
	for i := range rt.NumField() {
		if rt.Field(i).Anonymous {
			continue // an embedded group (abuseConfig): its variables are in the read set above
		}
		name := rt.Field(i).Tag.Get("env")
		if name == "" {
			t.Errorf("config field %s has no env tag", rt.Field(i).Name)
			continue
		}
		if !slices.Contains(read, name) {
			t.Errorf("config field %s names %s, which loadConfig does not read", rt.Field(i).Name, name)
		}
		if rt.Field(i).Type.Kind() == reflect.Struct {
			continue // several variables, with defaults per dialect
		}
		cell, ok := strings.CutPrefix(rows[name], "`")
		cell, ok2 := strings.CutSuffix(cell, "`")
		if !ok || !ok2 || strings.Contains(cell, "`") {
			continue // not a single literal ("unset: EdDSA", "`http://` + `ADDR`")
		}
		if !sameDefault(rv.Field(i).Interface(), cell) {
			t.Errorf("README.md says %s defaults to %q; loadConfig gives %v", name, cell, rv.Field(i).Interface())
		}
		checked++
	}
	if checked < 10 {
		t.Errorf("only %d defaults checked: the table's format changed?", checked)
	}
}

// sameDefault reports whether the README's literal is the value v.
func sameDefault(v any, literal string) bool {
	switch x := v.(type) {
	case time.Duration:
		d, err := time.ParseDuration(literal)
		return err == nil && d == x
	case int:
		n, err := strconv.Atoi(literal)
		return err == nil && n == x
	case bool:
		b, err := strconv.ParseBool(literal)
		return err == nil && b == x
	case string:
		return literal == x
	}
	return false
}
