// Package cloudapi holds what the providers of cloud DNS APIs (Route 53, Cloud DNS) share:
// retries with exponential backoff and full jitter, the classification of transport errors,
// and TXT record values as the APIs write them (quoted strings of at most 255 characters).
package cloudapi

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Defaults of a Backoff's zero fields.
const (
	DefaultAttempts  = 8
	DefaultBaseDelay = 200 * time.Millisecond
	DefaultMaxDelay  = 10 * time.Second
)

// Backoff says how often and how long to wait between the attempts of a call the API
// throttled or whose outcome is unknown.
type Backoff struct {
	// Attempts is the number of attempts, the first included (DefaultAttempts when zero).
	Attempts int
	// BaseDelay is the ceiling of the first wait, doubled at every attempt up to MaxDelay
	// (DefaultBaseDelay and DefaultMaxDelay when zero).
	BaseDelay, MaxDelay time.Duration
}

// WithDefaults returns the Backoff with its zero fields set to the defaults.
func (b Backoff) WithDefaults() Backoff {
	if b.Attempts <= 0 {
		b.Attempts = DefaultAttempts
	}
	if b.BaseDelay <= 0 {
		b.BaseDelay = DefaultBaseDelay
	}
	if b.MaxDelay <= 0 {
		b.MaxDelay = DefaultMaxDelay
	}
	if b.MaxDelay < b.BaseDelay {
		b.MaxDelay = b.BaseDelay
	}
	return b
}

// Delay is the wait before attempt number attempt+1 (attempt counts from 0): a random
// duration between half and all of min(MaxDelay, BaseDelay·2^attempt), so that writers
// throttled together do not retry together.
func (b Backoff) Delay(attempt int) time.Duration {
	b = b.WithDefaults()
	d := b.BaseDelay
	for i := 0; i < attempt && d < b.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, b.MaxDelay)
	half := d / 2
	return half + rand.N(d-half+1) //nolint:gosec // jitter, not a secret
}

// Sleep waits d or until ctx ends, whichever is first, and returns ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// NotSent tells whether a transport error happened before the request left: the connection
// was never made (refused, no route, no such host), so the server did nothing.
func NotSent(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var de *net.DNSError
	return errors.As(err, &de) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}

// Unreachable tells whether err means that no server answered: the connection was refused
// or reset, or the call timed out.
func Unreachable(err error) bool {
	var ne net.Error
	return NotSent(err) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// maxTXTString is the longest character-string of a TXT record (RFC 1035 section 3.3).
const maxTXTString = 255

// QuoteTXT returns a TXT record's text as the APIs write it: quoted character-strings of at
// most 255 bytes separated by spaces, with '"' and '\' escaped.
func QuoteTXT(text string) string {
	var b strings.Builder
	n := 0
	b.WriteByte('"')
	for i := 0; i < len(text); i++ {
		if n == maxTXTString {
			b.WriteString(`" "`)
			n = 0
		}
		c := text[i]
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
		n++
	}
	b.WriteByte('"')
	return b.String()
}

// UnquoteTXT returns the text of a TXT record value: its character-strings joined, quotes
// and escapes removed (\" \\ and the decimal \DDD of RFC 1035). An unquoted value is taken as
// one string, as the APIs accept one.
func UnquoteTXT(value string) string {
	if !strings.HasPrefix(value, `"`) {
		return value
	}
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c == '"':
			inQuote = !inQuote
		case c == '\\' && i+3 < len(value) && decimalByte(value[i+1:i+4]) >= 0:
			b.WriteByte(byte(decimalByte(value[i+1 : i+4]))) //nolint:gosec // 0..255, checked
			i += 3
		case c == '\\' && i+1 < len(value):
			b.WriteByte(value[i+1])
			i++
		case c == ' ' && !inQuote:
			// Between character-strings.
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// decimalByte returns the value of three decimal digits when it is a byte (0–255), else -1.
func decimalByte(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > 255 {
		return -1
	}
	return n
}

// Retry calls f, which must be safe to repeat, until it returns nil, an error retryable says
// is final, the attempts run out or ctx ends; before each further attempt it calls onRetry
// (to log) and waits the backoff. It returns the number of attempts made and the last error.
func Retry(ctx context.Context, b Backoff, f func(context.Context) error, retryable func(error) bool,
	onRetry func(attempt int, delay time.Duration, err error)) (int, error) {
	b = b.WithDefaults()
	for attempt := 0; ; attempt++ {
		err := f(ctx)
		if err == nil || !retryable(err) || attempt+1 >= b.Attempts {
			return attempt + 1, err
		}
		d := b.Delay(attempt)
		onRetry(attempt+1, d, err)
		if Sleep(ctx, d) != nil {
			return attempt + 1, err
		}
	}
}

// ApplyAll applies the batches in order with apply and stops at the first that fails, saying
// which it was and that the ones before it are applied.
func ApplyAll[B any](ctx context.Context, batches []B, apply func(context.Context, B) error) error {
	for i, b := range batches {
		if err := apply(ctx, b); err != nil {
			if len(batches) > 1 {
				return fmt.Errorf("batch %d of %d (the ones before it are applied): %w", i+1, len(batches), err)
			}
			return err
		}
	}
	return nil
}
