package settings

import (
	"strconv"
	"strings"
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

// quoteShort quotes s for a message, cutting it to 40 characters.
func quoteShort(s string) string {
	s = showDeferred(s)
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return strconv.Quote(string(r[:max-3])) + "..."
	}
	return strconv.Quote(s)
}

// showDeferred writes unresolved references (see Deferred) as ${NAME}.
func showDeferred(s string) string {
	if !strings.ContainsRune(s, DeferredMark) {
		return s
	}
	return strings.NewReplacer(string(DeferredMark), "${", string(DeferredEnd), "}").Replace(s)
}
