package spec

import (
	"strings"

	"github.com/agnivade/levenshtein"
)

// Suggest returns the candidate closest to s, for "did you mean" hints, or ""
// when none is close enough to be a likely typo.
func Suggest(s string, candidates []string) string {
	best, bestDist := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := levenshtein.ComputeDistance(ls, strings.ToLower(c))
		if bestDist < 0 || d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	// A third of the word may be wrong: one letter of a short word, two of
	// one of four or more letters, at most four.
	limit := min(max(len(s)/3, 2), 4)
	if len(s) <= 3 {
		limit = 1
	}
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}
