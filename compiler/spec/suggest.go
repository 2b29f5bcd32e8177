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
	// A third of the word may be wrong, at least one letter and at most four.
	limit := min(max(len(s)/3, 1), 4)
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}
