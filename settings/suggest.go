package settings

import (
	"unicode/utf8"
)

// suggest returns the candidate closest to s by edit distance, if within 3
// edits (and closer than the length of s, so short words don't match
// anything); "" otherwise. Ties go to the earlier candidate.
func suggest(s string, candidates []string) string {
	best, bestD := "", 4
	for _, c := range candidates {
		d := levenshtein(s, c)
		if d < bestD && d < utf8.RuneCountInString(s) {
			best, bestD = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// didYouMean is " (did you mean X?)" or "".
func didYouMean(s string, candidates []string) string {
	if c := suggest(s, candidates); c != "" {
		return " (did you mean " + c + "?)"
	}
	return ""
}
