package ident

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		err            error
	}{
		{name: "empty", in: "", want: ""},
		{name: "lower stays", in: "kate@example.com", want: "kate@example.com"},
		{name: "ASCII upper folds", in: "Kate@EXAMPLE.com", want: "kate@example.com"},
		{name: "ASCII space trimmed", in: " \tkate@example.com\r\n", want: "kate@example.com"},
		{name: "quoted local part keeps its space", in: `"Kate X"@example.com`, want: `"kate x"@example.com`},
		{name: "Kelvin sign refused", in: "\u212Aate@example.com", err: ErrEmailNotASCII},
		{name: "dotless i refused", in: "\u0131nfo@example.com", err: ErrEmailNotASCII},
		{name: "long s refused", in: "\u017Fales@example.com", err: ErrEmailNotASCII},
		{name: "non-ASCII local part refused", in: "jürgen@example.com", err: ErrEmailNotASCII},
		{name: "IDN domain refused", in: "kate@exämple.com", err: ErrEmailNotASCII},
		{name: "punycode domain kept", in: "kate@XN--exmple-cua.com", want: "kate@xn--exmple-cua.com"},
		{name: "zero-width space refused", in: "ka\u200bte@example.com", err: ErrEmailNotASCII},
		{name: "NBSP not trimmed, refused", in: "kate@example.com\u00a0", err: ErrEmailNotASCII},
		{name: "control character refused", in: "ka\x00te@example.com", err: ErrEmailNotASCII},
		{name: "DEL refused", in: "kate\x7f@example.com", err: ErrEmailNotASCII},
		{name: "invalid UTF-8 refused", in: "kate\xff@example.com", err: ErrEmailNotASCII},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormalizeEmail(c.in)
			if !errors.Is(err, c.err) || got != c.want {
				t.Errorf("NormalizeEmail(%+q) = %+q, %v; want %+q, %v", c.in, got, err, c.want, c.err)
			}
		})
	}
}

func TestSameEmail(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"kate@example.com", "KATE@example.com", true},
		{" kate@example.com", "kate@example.com ", true},
		{"\u212Aate@example.com", "kate@example.com", false},
		{"\u212Aate@example.com", "\u212Aate@example.com", true},
		{"\u212Aate@example.com", "\u212aATE@example.com", false}, // refused emails are not case-folded
		{"", "", true},
	} {
		if got := SameEmail(c.a, c.b); got != c.want {
			t.Errorf("SameEmail(%+q, %+q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{name: "plain", in: "Sales EMEA", want: ""},
		{name: "accents and scripts", in: "Ärzte – 営業 – مبيعات", want: ""},
		{name: "emoji", in: "Team 🚀", want: ""},
		{name: "C0 control", in: "Sales\aEMEA", want: "control character U+0007"},
		{name: "C1 control", in: "Sales\u0085", want: "control character U+0085"},
		{name: "DEL", in: "Sales\x7f", want: "control character U+007F"},
		{name: "right-to-left override", in: "\u202Etxt.exe", want: "bidirectional control character U+202E"},
		{name: "isolate", in: "a\u2066b", want: "bidirectional control character U+2066"},
		{name: "left-to-right mark", in: "a\u200eb", want: "bidirectional control character U+200E"},
		{name: "right-to-left mark", in: "a\u200fb", want: "bidirectional control character U+200F"},
		{name: "Arabic letter mark", in: "a\u061cb", want: "bidirectional control character U+061C"},
		{name: "zero-width space", in: "Sa\u200bles", want: "zero-width character U+200B"},
		{name: "zero-width non-joiner", in: "Sa\u200cles", want: "zero-width character U+200C"},
		{name: "zero-width joiner", in: "Sa\u200dles", want: "zero-width character U+200D"},
		{name: "word joiner", in: "Sa\u2060les", want: "zero-width character U+2060"},
		{name: "byte-order mark inside", in: "Sa\ufeffles", want: "zero-width character U+FEFF"},
		{name: "soft hyphen", in: "Sa\u00adles", want: "format character U+00AD"},
		{name: "tag character", in: "Sales\U000E0041", want: "format character U+E0041"},
		{name: "line separator", in: "Sales\u2028EMEA", want: "line separator U+2028"},
		{name: "invalid UTF-8", in: "Sales\xff", want: "is not valid UTF-8"},
		{name: "replacement character itself is fine", in: "Sales\ufffd", want: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := CheckName(c.in)
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("CheckName(%+q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestCheckText(t *testing.T) {
	for _, c := range []struct {
		name, in string
		ok       bool
	}{
		{"plain", "Kate Smith", true},
		{"family emoji with joiners", "Kate 👨\u200d👩\u200d👧", true},
		{"right-to-left mark", "\u200fمريم", true},
		{"override", "\u202eKate", false},
		{"control", "Kate\n", false},
	} {
		if got := CheckText(c.in); (got == "") != c.ok {
			t.Errorf("%s: CheckText(%+q) = %q, want ok %v", c.name, c.in, got, c.ok)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"Sales":         "Sales",
		"Café 🚀":        "Café 🚀",
		"\u202Etxt.exe": `\u202Etxt.exe`,
		"Fin\u200Bance": `Fin\u200Bance`,
		"tag\U000E0041": `tag\U000E0041`,
		"bad\xff":       `bad\xff`,
		"nul\x00":       `nul\u0000`,
	} {
		if got := Printable(in); got != want || CheckName(got) != "" {
			t.Errorf("Printable(%+q) = %q, want %q and a valid name", in, got, want)
		}
	}
}
