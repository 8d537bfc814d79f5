package profiles

import (
	"encoding/hex"
	"fmt"
)

// Braze ids are Herald's own user ids as the API shows them: 24 hex digits, like
// Braze's. They are computed from the internal row id, not stored, so looking a
// user up by braze_id is a primary key lookup and creating a user costs no extra
// index. The id is mixed by an invertible multiplication so the ids do not read
// as a counter, and 32 check bits reject made-up values without a query.
const (
	brazeMul = 0x9E3779B97F4A7C15 // odd, so invertible modulo 2^64
	brazeXor = 0x2545F4914F6CDD1D
	checkMul = 0xD6E8FEB86659FD93
)

// mulInverse returns the inverse of an odd a modulo 2^64 (Newton's iteration).
func mulInverse(a uint64) uint64 {
	x := a // correct to 3 bits for odd a
	for i := 0; i < 5; i++ {
		x *= 2 - a*x
	}
	return x
}

func brazeCheck(mixed uint64) uint32 { return uint32(((mixed ^ 0x9FB21C651E98DF25) * checkMul) >> 32) }

// BrazeIDFor returns the braze_id of the user with internal id.
func BrazeIDFor(id int64) string {
	mixed := uint64(id)*brazeMul ^ brazeXor
	return fmt.Sprintf("%08x%016x", brazeCheck(mixed), mixed)
}

// ParseBrazeID returns the internal id a braze_id names, or false when it is not
// one Herald issued.
func ParseBrazeID(s string) (int64, bool) {
	if len(s) != 24 {
		return 0, false
	}
	var b [12]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, false
	}
	check := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	var mixed uint64
	for _, c := range b[4:] {
		mixed = mixed<<8 | uint64(c)
	}
	if brazeCheck(mixed) != check {
		return 0, false
	}
	id := int64((mixed ^ brazeXor) * mulInverse(brazeMul))
	if id <= 0 {
		return 0, false
	}
	return id, true
}
