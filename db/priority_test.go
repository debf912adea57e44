package db

import "testing"

func TestPriorityScanBytes(t *testing.T) {
	for _, word := range []string{"none", "low", "medium", "high", "urgent"} {
		src := []byte(word) // pgx's read buffer, reused for the next row
		var p Priority
		if err := p.ScanBytes(src); err != nil {
			t.Fatal(err)
		}
		copy(src, "xxxxxxxx")
		if string(p) != word {
			t.Errorf("ScanBytes(%q) = %q after the buffer was reused", word, p)
		}
	}
	allocs := testing.AllocsPerRun(100, func() {
		var p Priority
		for _, word := range [][]byte{[]byte("none"), []byte("low"), []byte("medium"), []byte("high")} {
			_ = p.ScanBytes(word)
		}
	})
	if allocs != 0 {
		t.Errorf("scanning the four stored words allocated %v times, want 0", allocs)
	}
}
